import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { errors } from 'telegram';
import { dayHours } from '../../tasks/core/dates.js';
import { parsePartition, type Message } from '../../tasks/core/messages.js';
import { ingestFromHistory } from '../../tasks/commands/ingest.js';
import { aggregate } from '../../tasks/commands/aggregate.js';
import { openWorkspace, type Workspace } from '../../tasks/io/workspace.js';
import { chatcast, FIXTURES, quietContext, snapshot, tempDir } from '../helpers.js';
import { scriptedHistory } from '../support/history.js';
import { dayPath } from '../../tasks/core/pipeline.js';

const zone = 'Europe/Berlin';
// Messages every 37 minutes from March 28 to April 3 (UTC), ids growing by 2: pages of 25 cut days anywhere.
const ALL: Message[] = Array.from({ length: 6 * 24 * 60 / 37 }, (_, i) => ({
  id: 10_000 + 2 * i,
  at: new Date(Date.parse('2024-03-28T00:00:00Z') + i * 37 * 60_000).toISOString().replace('.000Z', 'Z'),
  sender: String(1 + (i % 5)),
  kind: i % 7 === 0 ? 'photo' : 'text',
  reply_to: null,
}));

async function workspace(extra: string): Promise<Workspace> {
  const ws = join(await tempDir(), 'ws');
  expect((await chatcast(['init', '--workspace', ws, '--source', 'mtproto'])).exitCode).toBe(0);
  const params = join(ws, 'params.yaml');
  await writeFile(
    params,
    (await readFile(params, 'utf8')).replace('chat: ""', 'chat: "https://t.me/+AbCdEf123456"').replace('since: null', extra).replace('page_size: 100', 'page_size: 25'),
  );
  return openWorkspace(ws);
}

async function partition(ws: Workspace, day: string): Promise<Message[]> {
  return parsePartition(await readFile(ws.path(dayPath('ingest', day, '.jsonl')), 'utf8'), day);
}

const inBerlinDay = (day: string) => (m: Message) => {
  const hours = dayHours(day, zone);
  const start = Date.parse(hours[0].start);
  return Date.parse(m.at) >= start && Date.parse(m.at) < start + hours.length * 3_600_000;
};

describe('ingest --source mtproto (through the History interface, with scripted pages)', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace('since: "2024-03-29"');
  });

  it('fills every day from ingest.since with its own messages: no gap, no duplicate, nothing from the unfinished day', async () => {
    const { history } = scriptedHistory(ALL);
    const result = await ingestFromHistory(ws, '2024-03-30', quietContext(), history);
    expect(result.days).toEqual(['2024-03-29', '2024-03-30']);
    expect(await partition(ws, '2024-03-29')).toEqual(ALL.filter(inBerlinDay('2024-03-29')));
    expect(await partition(ws, '2024-03-30')).toEqual(ALL.filter(inBerlinDay('2024-03-30')));
    expect((await readdir(ws.path('ingest'))).sort()).toEqual(['2024-03', 'cursor.json']);
    expect((await readdir(ws.path('ingest', '2024-03'))).sort()).toEqual(['2024-03-29.jsonl', '2024-03-30.jsonl']);
    const cursor = JSON.parse(await readFile(ws.path('ingest', 'cursor.json'), 'utf8'));
    expect(cursor).toEqual({ chat_id: '-1001234567890', chat_title: 'Учебный чат', last_id: ALL.filter(inBerlinDay('2024-03-30')).at(-1)!.id, last_day: '2024-03-30' });
  });

  it('adds nothing on a rerun of the same day, and continues from the cursor across page and day boundaries, through a FLOOD_WAIT', async () => {
    await ingestFromHistory(ws, '2024-03-30', quietContext(), scriptedHistory(ALL).history);
    const before = await snapshot(ws.dir);
    const rerun = scriptedHistory(ALL);
    expect((await ingestFromHistory(ws, '2024-03-30', quietContext(), rerun.history)).messages).toBe(0);
    expect(rerun.calls).toEqual([]);
    expect(await snapshot(ws.dir)).toEqual(before);

    const slept: number[] = [];
    const next = scriptedHistory(ALL, { 2: new errors.FloodWaitError({ capture: 3 }) });
    await ingestFromHistory(ws, '2024-03-31', quietContext(), next.history, async (ms) => void slept.push(ms));
    expect(slept).toEqual([3000]);
    expect(await partition(ws, '2024-03-31')).toEqual(ALL.filter(inBerlinDay('2024-03-31')));
    const stored = [...(await partition(ws, '2024-03-29')), ...(await partition(ws, '2024-03-30')), ...(await partition(ws, '2024-03-31'))];
    expect(stored.map((m) => m.id)).toEqual(ALL.filter((m) => Date.parse(m.at) >= Date.parse('2024-03-28T23:00:00Z') && Date.parse(m.at) < Date.parse('2024-03-31T22:00:00Z')).map((m) => m.id));
  });

  it('catches up missed days in one run, and aggregate adds them all to the series', async () => {
    await ingestFromHistory(ws, '2024-03-30', quietContext(), scriptedHistory(ALL).history);
    await aggregate(ws, '2024-03-30', quietContext());
    await ingestFromHistory(ws, '2024-04-02', quietContext(), scriptedHistory(ALL).history);
    for (const day of ['2024-03-31', '2024-04-01', '2024-04-02']) {
      expect(await partition(ws, day)).toEqual(ALL.filter(inBerlinDay(day)));
    }
    const result = await aggregate(ws, '2024-04-02', quietContext());
    expect(result.days).toEqual(['2024-03-31', '2024-04-01', '2024-04-02']);
    expect(result.seriesHours).toBe(24 * 5 - 1);
  });

  it('refuses a cursor that follows another chat', async () => {
    await ingestFromHistory(ws, '2024-03-30', quietContext(), scriptedHistory(ALL).history);
    const other = scriptedHistory(ALL, {}, { id: '-1009999', title: 'Другой чат' });
    await expect(ingestFromHistory(ws, '2024-03-31', quietContext(), other.history)).rejects.toThrow(
      'params.yaml ingest.chat is chat -1009999 (Другой чат), but ingest/cursor.json follows chat -1001234567890 (Учебный чат): one workspace holds one chat',
    );
  });

  it('without ingest.since starts at the day being ingested; the CLI without a session fails clearly, never prompting', async () => {
    const fresh = await workspace('since: null');
    const result = await ingestFromHistory(fresh, '2024-03-31', quietContext(), scriptedHistory(ALL).history);
    expect(result.days).toEqual(['2024-03-31']);
    const cli = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', fresh.dir], { TELEGRAM_API_ID: '12345', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef', TELEGRAM_SESSION: '' });
    expect(cli.exitCode).toBe(3);
    expect(cli.stderr).toContain('TELEGRAM_SESSION is not set: run "chatcast login" once on a terminal');
  });
});

describe('ingest --source export:result.json (Telegram Desktop)', () => {
  const exportFile = join(FIXTURES, 'telegram-export', 'result.json');

  it('loads every day of the export up to --date into day partitions, by kind, without texts by default', async () => {
    const ws = await workspace('since: null');
    const run = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws.dir, '--source', `export:${exportFile}`]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('ingested 13 messages from the export into 3 days (2024-03-29 … 2024-03-31)');
    const kinds = async (day: string) => (await partition(ws, day)).map((m) => `${m.id}:${m.kind}`);
    expect(await kinds('2024-03-29')).toEqual(['1001:service', '1002:text', '1003:text', '1004:photo', '1005:photo', '1006:text']);
    expect(await kinds('2024-03-30')).toEqual(['1007:sticker', '1008:voice', '1009:video', '1010:document', '1011:other', '1012:service']);
    expect(await kinds('2024-03-31')).toEqual(['1013:text']);
    const reply = (await partition(ws, '2024-03-29'))[2];
    expect(reply).toEqual({ id: 1003, at: '2024-03-29T09:05:00Z', sender: '222', kind: 'text', reply_to: 1002 });
    expect(JSON.parse(await readFile(ws.path('ingest', 'cursor.json'), 'utf8'))).toMatchObject({ chat_id: '-1001234567890', last_id: 1013, last_day: '2024-03-31' });

    const before = await snapshot(ws.dir);
    expect((await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws.dir, '--source', `export:${exportFile}`])).exitCode).toBe(0);
    expect(await snapshot(ws.dir)).toEqual(before);
    const aggregated = await chatcast(['aggregate', '--date', '2024-03-31', '--workspace', ws.dir]);
    expect(aggregated.stdout).toContain('aggregated 3 days (2024-03-29 … 2024-03-31): 13 messages');
  });

  it('keeps texts (entity arrays joined) when store_text is on', async () => {
    const ws = await workspace('since: null');
    const params = ws.path('params.yaml');
    await writeFile(params, (await readFile(params, 'utf8')).replace('store_text: false', 'store_text: true'));
    expect((await chatcast(['ingest', '--date', '2024-03-30', '--workspace', ws.dir, '--source', `export:${exportFile}`])).exitCode).toBe(0);
    const texts = (await partition(ws, '2024-03-29')).map((m) => m.text ?? null);
    expect(texts).toEqual([null, 'Всем привет!', 'Смотрите расписание и https://example.org', 'Альбом с доски', null, 'Пересланное объявление']);
  });

  it.each([
    ['result-bad-date.json', 'messages[3].date_unixtime (missing): expected Unix seconds as a string'],
    ['result-bad-text.json', 'messages[2].text[1] "{"type":"bold"}": expected a string or an entity object with a "text" string'],
    ['result-truncated.json', 'not well-formed JSON'],
  ])('names the JSON path of a bad item in %s, writing nothing', async (name, message) => {
    const ws = await workspace('since: null');
    const before = await snapshot(ws.dir);
    const run = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws.dir, '--source', `export:${join(FIXTURES, 'telegram-export', name)}`]);
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain(`Invalid ${join(FIXTURES, 'telegram-export', name)} `.slice(0, -1));
    expect(run.stderr).toContain(message);
    expect(await snapshot(ws.dir)).toEqual(before);
  });
});

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatcast, FIXTURES, snapshot, tempDir } from '../helpers.js';
import { readSeriesText } from '../../tasks/io/artifacts.js';
import { dayPath } from '../../tasks/core/pipeline.js';

// The checked-in export (14 messages, 13 of them through 2024-03-31), changed per case and written to a
// temp folder: repeated ids and implausible dates need no fixture files of their own.
type Item = Record<string, unknown> & { id: number };
const exportFile = join(FIXTURES, 'telegram-export', 'result.json');

async function variant(dir: string, name: string, change: (messages: Item[]) => Item[]): Promise<string> {
  const data = JSON.parse(await readFile(exportFile, 'utf8')) as { messages: Item[] };
  data.messages = change(data.messages);
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(data, null, 1));
  return file;
}

async function workspace(root: string, name: string): Promise<string> {
  const ws = join(root, name);
  const init = await chatcast(['init', '--workspace', ws, '--source', 'mtproto']);
  expect(init.exitCode, init.stderr).toBe(0);
  const params = join(ws, 'params.yaml');
  await writeFile(params, (await readFile(params, 'utf8')).replace('store_text: false', 'store_text: true'));
  return ws;
}

describe('ingest --source export: repeated ids and implausible dates', () => {
  // One workspace: a refused export writes nothing, so the cases do not disturb each other.
  let root: string;
  let ws: string;
  beforeAll(async () => {
    root = await tempDir();
    ws = await workspace(root, 'ws');
  });

  it('counts a repeated id once, keeping the newer edit, in the partitions and in the hourly counts', async () => {
    const file = await variant(root, 'repeated.json', (messages) => {
      const byId = (id: number) => messages.find((m) => m.id === id)!;
      const edit = { ...byId(1002), text: 'Всем привет! (исправлено)', edited: '2024-03-29T10:30:00', edited_unixtime: '1711704600' };
      // 1002 three times (the last copy edited), 1007 twice as it was: every copy was counted before.
      return [...messages.slice(0, 3), edit, ...messages.slice(3, 8), byId(1002), byId(1007), ...messages.slice(8)];
    });
    const ingest = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws, '--source', `export:${file}`]);
    expect(ingest.exitCode, ingest.stderr).toBe(0);
    expect(ingest.stdout).toContain('ingested 13 messages from the export into 3 days (2024-03-29 … 2024-03-31)');
    const day = (await readFile(join(ws, dayPath('ingest', '2024-03-29', '.jsonl')), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(day.map((m) => m.id)).toEqual([1001, 1002, 1003, 1004, 1005, 1006]);
    expect(day[1].text).toBe('Всем привет! (исправлено)');

    const aggregate = await chatcast(['aggregate', '--date', '2024-03-31', '--workspace', ws]);
    expect(aggregate.exitCode, aggregate.stderr).toBe(0);
    expect(aggregate.stdout).toContain('aggregated 3 days (2024-03-29 … 2024-03-31): 13 messages');
    const hourly = (await readSeriesText(join(ws, 'aggregate', 'hourly'))).trim().split('\n').map((line) => line.split('\t'));
    const count = (start: string) => hourly.find((row) => row[0] === start)?.[4];
    expect(count('2024-03-29T09:00:00Z')).toBe('3'); // 1001, 1002 (three copies), 1003
    expect(count('2024-03-29T23:00:00Z')).toBe('1'); // 1007 (two copies), 00:00 Berlin on the 30th
  });

  it.each([
    ['a date before Telegram existed', { date: '1970-01-01T01:00:00', date_unixtime: '0' }, 'Invalid date 1970-01-01T00:00:00Z (date_unixtime "0") of message 1004 in FILE messages[3]: expected a time between 2013-08-14 and now ('],
    ['a date in the future', { date: '2099-01-01T01:00:00', date_unixtime: '4070908800' }, 'Invalid date 2099-01-01T00:00:00Z (date_unixtime "4070908800") of message 1004 in FILE messages[3]: expected a time between 2013-08-14 and now ('],
    ['an unparseable date', { date_unixtime: 'yesterday' }, 'Invalid FILE messages[3].date_unixtime "yesterday": expected Unix seconds as a string (exports from Telegram Desktop 3.0 or newer have it) for message 1004'],
    ['one id shared by two different messages', { id: 1002 }, 'Invalid FILE: messages[1] and messages[3] both have id 1002 but were sent at 2024-03-29T09:01:10Z and at 2024-03-29T17:00:00Z: expected one message per id'],
  ])('refuses %s: exit 4 naming file, message and rule, writing nothing', async (name, change, message) => {
    const file = await variant(root, `${name.replace(/\W+/g, '-')}.json`, (messages) => messages.map((m, i) => (i === 3 ? { ...m, ...change } : m)));
    const before = await snapshot(ws);
    const run = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws, '--source', `export:${file}`]);
    expect(run.exitCode, run.stderr).toBe(4);
    expect(run.stderr).toContain(`chatcast ingest: ${message.replace('FILE', file)}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await snapshot(ws)).toEqual(before);
  });
});

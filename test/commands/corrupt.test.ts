import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace } from '../../tasks/io/workspace.js';
import { evaluate } from '../../tasks/commands/evaluate.js';
import { train } from '../../tasks/commands/train.js';
import { forecast } from '../../tasks/commands/forecast.js';
import { chatcast, CLI, FIXTURES, quietContext, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';
import { startBotApiServer, type BotApiServer } from '../support/bot-api-server.js';
import { dayPath } from '../../tasks/core/pipeline.js';

const DAY = '2024-03-30';
const TOKEN = '123456789:AAF-test-token-for-the-local-bot-api';
const CHANNEL = '@chatcast_channel';
let ws: string;
let server: BotApiServer;
const botEnv = (apiRoot = server.url) => ({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_REPORT_CHAT: CHANNEL, TELEGRAM_API_ROOT: apiRoot });
const git = (...args: string[]) => execa('git', args, { cwd: ws });

// One workspace for every case: eleven simulated days pushed, then (in-process) DAY's evaluation, model
// and forecast for the next day, so each artifact a step reads is there to be corrupted.
beforeAll(async () => {
  server = await startBotApiServer({ token: TOKEN, chats: [CHANNEL] });
  ws = await workspaceWithHistory(await tempDir(), 'ws', '2024-03-20', DAY);
  const workspace = await openWorkspace(ws);
  const ctx = quietContext();
  await evaluate(workspace, DAY, ctx);
  await train(workspace, DAY, ctx);
  await forecast(workspace, DAY, ctx);
}, 300_000);

afterAll(() => server?.close());

// Runs a command on a workspace where `file` holds `bad` (or is deleted when `bad` is undefined):
// exit 6, stderr names the file and the broken rule, no stack trace, and no file of the workspace changed.
// The file is put back afterwards.
async function refusesCorrupt(file: string, bad: string | Buffer | undefined, args: string[], message: RegExp, env: Record<string, string> = {}, named = file) {
  const path = join(ws, file);
  const original = await readFile(path).catch(() => undefined);
  if (bad === undefined) await rm(path);
  else {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bad);
  }
  try {
    const before = await snapshot(ws);
    const result = await chatcast([...args, '--workspace', ws], env);
    expect(result.exitCode, result.stderr + result.stdout).toBe(6);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(named);
    expect(result.stdout).toContain('"level":50'); // also a JSON log line for Airflow
    expect(result.stderr + result.stdout).not.toMatch(/^\s+at /m);
    expect(result.stderr + result.stdout).not.toContain('Unexpected failure');
    expect(await snapshot(ws)).toEqual(before);
    return result;
  } finally {
    if (original === undefined) await rm(path, { force: true });
    else await writeFile(path, original);
  }
}

describe('a corrupt or missing artifact: exit 6 naming the file and the rule, nothing written', () => {
  it('an hour of the training series changed after train', async () => {
    const text = await readFile(join(ws, 'aggregate', 'hourly', '2024-03.tsv'), 'utf8');
    const changed = text.replace(/\t(\d+)\n/, (_, n) => `\t${Number(n) + 1}\n`);
    expect(changed).not.toBe(text);
    await refusesCorrupt('aggregate/hourly/2024-03.tsv', changed, ['forecast', '--date', DAY], /The hourly series through 2024-03-30 \(\d+ hours in aggregate\/hourly\) is not the one train\/model\.json was trained on \(\d+ hours, sha256 [0-9a-f]{12}…\): rerun "chatcast train --date 2024-03-30"/, {}, 'aggregate/hourly');
  });

  it("a day in another month's file of the hourly series", async () => {
    const text = await readFile(join(ws, 'aggregate', 'hourly', '2024-03.tsv'), 'utf8');
    await refusesCorrupt('aggregate/hourly/2024-03.tsv', text + '2024-03-31T22:00:00Z\t2024-04-01\t00:00\t+02:00\t3\n', ['evaluate', '--date', DAY], /Invalid \S+aggregate\/hourly\/2024-03\.tsv line \d+: day "2024-04-01": expected a day of 2024-03, the file's month/);
  });

  it('corrupt model card', async () => {
    await refusesCorrupt('train/model.json', JSON.stringify({ trained_through: DAY, hours: -1 }), ['forecast', '--date', DAY], /Invalid train\/model\.json: params: .*; model: .*: rerun "chatcast train --date 2024-03-30"/);
  });

  it('corrupt forecast JSON (cut short)', async () => {
    const text = await readFile(join(ws, dayPath('forecast', '2024-03-31', '.json')), 'utf8');
    await refusesCorrupt('forecast/2024-03/2024-03-31.json', text.slice(0, 200), ['report', '--date', DAY], /Invalid forecast\/2024-03\/2024-03-31\.json: not JSON \(.+\): rerun "chatcast forecast" for the day before 2024-03-31/);
  });

  it('corrupt metrics', async () => {
    await refusesCorrupt('evaluate/metrics.json', JSON.stringify({ day: DAY, status: 'great' }), ['report', '--date', DAY], /Invalid evaluate\/metrics\.json: status: .*; reason: .*: rerun "chatcast evaluate --date 2024-03-30"/);
  });

  it('corrupt ingest cursor', async () => {
    await refusesCorrupt(
      'ingest/cursor.json',
      JSON.stringify({ chat_id: 1234567890, chat_title: 'Учебный чат', last_id: 1013, last_day: '30.03.2024' }),
      ['ingest', '--date', DAY, '--source', `export:${join(FIXTURES, 'telegram-export', 'result.json')}`],
      /Invalid ingest\/cursor\.json: chat_id: .*; last_day: expected a day as YYYY-MM-DD: restore it with "chatcast pull", or delete it/,
    );
  });

  it('corrupt report ledger', async () => {
    const ledger = { days: { [DAY]: { chat: CHANNEL, sent_at: '2024-03-31T06:00:00Z' } } };
    await refusesCorrupt('report/ledger.json', JSON.stringify(ledger), ['pull'], /Invalid report\/ledger\.json: days\.2024-03-30\.message_ids: .*: fix it by hand, keeping every day that was posted/);
  });

  it('corrupt track ledger', async () => {
    await refusesCorrupt('track/ledger.json', '{"trackers": {"local": {"days": {"2024-03-30": null}, "pending": {}}}}\n', ['pull'], /Invalid track\/ledger\.json: trackers\.local\.days\.2024-03-30: .*: fix or delete it/);
  });

  it('corrupt dvc.lock (committed, so pull cannot restore it from git)', async () => {
    const original = await readFile(join(ws, 'dvc.lock'), 'utf8');
    const bad = original.replace(/^stages:\n/m, 'stages:\n  broken: {outs: [\n');
    await writeFile(join(ws, 'dvc.lock'), bad);
    await git('commit', '--quiet', '-m', 'a broken dvc.lock', 'dvc.lock');
    try {
      await refusesCorrupt('dvc.lock', bad, ['pull'], /Invalid dvc\.lock: not YAML \(.+\): it is DVC's record of the pushed data: bring back a good version from git/);
    } finally {
      await git('reset', '--quiet', '--soft', 'HEAD~1');
      await git('checkout', 'HEAD', '--', 'dvc.lock');
    }
    expect(await readFile(join(ws, 'dvc.lock'), 'utf8')).toBe(original);
  });

  it('a `null` line in a partition', async () => {
    const text = await readFile(join(ws, dayPath('ingest', DAY, '.jsonl')), 'utf8');
    const lines = text.split('\n');
    lines.splice(2, 0, 'null');
    await refusesCorrupt(`ingest/2024-03/${DAY}.jsonl`, lines.join('\n'), ['aggregate', '--date', DAY], /Invalid \S+ingest\/2024-03\/2024-03-30\.jsonl line 3: \(root\): .*: expected one message per line, a JSON object \{"id", "at", "sender", "kind", "reply_to"\[, "text"\]\}: restore it with "chatcast pull"/);
  });
});

// A Bot API in front of the stand-in that lets the album through and then kills the posting process
// before it hears back: the post went out, the process never learned its message ids.
async function killingProxy(target: string, victim: () => ResultPromise | undefined): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await fetch(target + req.url, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) });
    await answer.arrayBuffer();
    victim()?.kill('SIGKILL');
    res.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

describe('report: a post the process did not live to record', () => {
  it('is recorded as begun, so the retry refuses to post blind (exit 6); --force posts, once', async () => {
    const charts = join(ws, dayPath('render', DAY));
    await mkdir(charts, { recursive: true });
    await writeFile(join(charts, 'actual.png'), 'png of the actual hours');
    await writeFile(join(charts, 'forecast.png'), 'png of the forecast hours');
    const ledgerFile = join(ws, 'report', 'ledger.json');
    let child: ResultPromise | undefined;
    const proxy = await killingProxy(server.url, () => child);
    try {
      child = execa('node', [CLI, 'report', '--date', DAY, '--workspace', ws], { reject: false, stdin: 'ignore', env: botEnv(proxy.url) });
      const crashed = await child;
      expect(crashed.signal, String(crashed.stderr)).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    expect(server.albums).toHaveLength(1); // it went out
    const ledger = JSON.parse(await readFile(ledgerFile, 'utf8'));
    expect(ledger.days).toEqual({});
    expect(ledger.pending[DAY]).toMatchObject({ chat: CHANNEL });

    const before = await snapshot(ws);
    const retry = await chatcast(['report', '--date', DAY, '--workspace', ws], botEnv());
    expect(retry.exitCode, retry.stderr).toBe(6);
    expect(retry.stderr).toContain(`The report for ${DAY} may already be in ${CHANNEL}: report/ledger.json records a post begun at ${ledger.pending[DAY].since} whose message ids were never recorded`);
    expect(retry.stderr).toContain(`look at ${CHANNEL}, and if the report for ${DAY} is not there, rerun "chatcast report --date ${DAY} --force"`);
    expect(retry.stderr + retry.stdout).not.toMatch(/^\s+at /m);
    expect(server.albums).toHaveLength(1); // not posted twice
    expect(await snapshot(ws)).toEqual(before);

    // A forced post that Telegram refuses sent nothing: its intent is dropped, not left to block.
    const refused = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], { ...botEnv(), TELEGRAM_REPORT_CHAT: '@no_such_channel' });
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(JSON.parse(await readFile(ledgerFile, 'utf8'))).toEqual({ days: {} });

    const forced = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], botEnv());
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(server.albums).toHaveLength(2);
    const done = JSON.parse(await readFile(ledgerFile, 'utf8'));
    expect(done).toEqual({ days: { [DAY]: { chat: CHANNEL, message_ids: [102, 103], sent_at: expect.any(String) } } });

    const again = await chatcast(['report', '--date', DAY, '--workspace', ws], botEnv());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`the report for ${DAY} was already posted to ${CHANNEL}`);
    expect(server.albums).toHaveLength(2);
  });
});

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatcast, FIXTURES, snapshot, tempDir } from '../helpers.js';
import { dayPath } from '../../tasks/core/pipeline.js';

let root: string;
let ws: string;

beforeAll(async () => {
  root = await tempDir();
  ws = join(root, 'ws');
  const init = await chatcast(['init', '--workspace', ws, '--remote', join(root, 'remote')]);
  expect(init.exitCode, init.stderr).toBe(0);
});

// Runs a command that must fail and checks it changed nothing in the workspace.
async function failsCleanly(args: string[], exitCode: number, message: string | RegExp) {
  const before = await snapshot(ws);
  const result = await chatcast(args);
  expect(result.exitCode, result.stdout).toBe(exitCode);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toContain('"level":50'); // the error is also a JSON log line for Airflow
  expect(await snapshot(ws)).toEqual(before);
  return result;
}

describe('bad input: a clear message, a non-zero exit, nothing written', () => {
  it('unknown step', async () => {
    await failsCleanly(['frobnicate', '--date', '2024-03-01'], 2, 'chatcast frobnicate: Unknown step "frobnicate": expected one of init, login, pull, ingest, aggregate, evaluate, train, forecast, render, report, push, track, run, demo, backtest');
  });

  it('bad date', async () => {
    await failsCleanly(['ingest', '--date', '2024-13-01', '--workspace', ws], 2, 'Invalid --date "2024-13-01": expected YYYY-MM-DD');
    await failsCleanly(['run', '--workspace', ws], 2, "Missing --date: expected YYYY-MM-DD, the day that ended in the chat's time zone");
    await failsCleanly(['ingest', '--date', '2999-01-01', '--workspace', ws], 2, /Invalid --date "2999-01-01": that day has not ended yet in Europe\/Berlin/);
  });

  it('unknown time zone in params.yaml', async () => {
    const params = join(ws, 'params.yaml');
    const original = await readFile(params, 'utf8');
    await writeFile(params, original.replace('timezone: Europe/Berlin', 'timezone: Mars/Olympus'));
    try {
      await failsCleanly(['ingest', '--date', '2024-03-01', '--workspace', ws], 3, 'Invalid params.yaml chat.timezone "Mars/Olympus": expected an IANA time zone such as Europe/Berlin or UTC');
    } finally {
      await writeFile(params, original);
    }
  });

  it('unknown time zone and bad source given to init create nothing', async () => {
    const target = join(root, 'never');
    const tz = await chatcast(['init', '--workspace', target, '--timezone', 'Europe/Berlinn']);
    expect(tz.exitCode).not.toBe(0);
    expect(tz.stderr).toContain('Invalid --timezone "Europe/Berlinn": expected an IANA time zone');
    const src = await chatcast(['init', '--workspace', target, '--source', 'csv:x']);
    expect(src.exitCode).toBe(2);
    expect(src.stderr).toContain('Invalid --source "csv:x": expected simulate, mtproto, export:FILE (Telegram Desktop result.json) or tsv:FILE');
    expect(existsSync(target)).toBe(false);
  });

  it('malformed TSV: the message names the line', async () => {
    await failsCleanly(
      ['ingest', '--date', '2024-03-31', '--workspace', ws, '--source', `tsv:${join(FIXTURES, 'messages-bad-date.tsv')}`],
      4,
      /messages-bad-date\.tsv line 5: datetime "2024-02-30 10:00:00\+00:00": expected YYYY-MM-DD HH:MM:SS\+00:00/,
    );
    await failsCleanly(
      ['ingest', '--date', '2024-03-31', '--workspace', ws, '--source', `tsv:${join(FIXTURES, 'messages-bad-quote.tsv')}`],
      4,
      /messages-bad-quote\.tsv line 4: Quote Not Closed/,
    );
    await failsCleanly(['ingest', '--date', '2024-03-31', '--workspace', ws, '--source', 'tsv:/no/such/file.tsv'], 4, 'Missing TSV source "/no/such/file.tsv": expected a tab-separated file of messages');
  });

  it('missing or uninitialised workspace', async () => {
    const missing = join(root, 'missing');
    const gone = await chatcast(['ingest', '--date', '2024-03-01', '--workspace', missing]);
    expect(gone.exitCode).toBe(5);
    expect(gone.stderr).toContain(`Workspace "${missing}" does not exist: create it with "chatcast init --workspace ${missing}"`);
    expect(existsSync(missing)).toBe(false);

    const empty = join(root, 'empty');
    await mkdir(empty);
    const bare = await chatcast(['train', '--date', '2024-03-01'], { CHATCAST_WORKSPACE: empty });
    expect(bare.exitCode).toBe(5);
    expect(bare.stderr).toContain(`Workspace "${empty}" is not initialised (no dvc.yaml): run "chatcast init --workspace ${empty}"`);
    expect(await readdir(empty)).toEqual([]);
  });

  it('a step whose input is missing names the step to run first', async () => {
    await failsCleanly(['aggregate', '--date', '2024-03-01', '--workspace', ws], 6, `Missing ingest partition "${join(ws, dayPath('ingest', '2024-03-01', '.jsonl'))}": run "chatcast ingest --date 2024-03-01" first`);
    await failsCleanly(['forecast', '--date', '2024-03-01', '--workspace', ws], 6, 'run "chatcast train --date 2024-03-01" first');
  });

  it('every command has --help', async () => {
    for (const step of ['init', 'login', 'pull', 'ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report', 'push', 'run', 'demo']) {
      const help = await chatcast([step, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain(`chatcast ${step}`);
    }
  });
});

describe('the scheduler and the workspace must agree on the time zone', () => {
  it('refuses a step when $CHATCAST_TIMEZONE differs from params.yaml', async () => {
    const before = await snapshot(ws);
    const result = await chatcast(['ingest', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_TIMEZONE: 'Asia/Tokyo' });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('Invalid params.yaml chat.timezone "Europe/Berlin": expected "Asia/Tokyo", the time zone the scheduler uses for this chat ($CHATCAST_TIMEZONE)');
    expect(await snapshot(ws)).toEqual(before);
  });
});

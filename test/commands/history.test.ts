import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatcast, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';
import { readSeriesText } from '../../tasks/io/artifacts.js';

// The rules for days out of order (README "Decisions"): a day before the newest pushed one is history
// and is left as pushed; a day far after it is refused without --catch-up; a short gap is filled in.
let root: string;
let ws: string;
const git = async (...args: string[]) => (await execa('git', args, { cwd: ws })).stdout.trim();
const tags = async () => Object.fromEntries((await git('tag', '--list', '--format=%(refname:short) %(objectname)')).split('\n').map((l) => l.split(' ')));

beforeAll(async () => {
  root = await tempDir();
  ws = await workspaceWithHistory(root, 'ws', '2024-03-20', '2024-03-27');
  for (const day of ['2024-03-28', '2024-03-29']) {
    const run = await chatcast(['run', '--date', day, '--workspace', ws]);
    expect(run.exitCode, run.stderr).toBe(0);
  }
}, 240_000);

describe('a rerun of a past day (an Airflow "Clear" of last week)', () => {
  it('changes nothing: every step of it succeeds, no file, commit or tag moves', async () => {
    const before = { files: await snapshot(ws), head: await git('rev-parse', 'HEAD'), tags: await tags() };
    for (const step of ['pull', 'ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report', 'push', 'run']) {
      const rerun = await chatcast([step, '--date', '2024-03-28', '--workspace', ws]);
      expect(rerun.exitCode, `${step}: ${rerun.stderr}`).toBe(0);
      expect(rerun.stdout, step).toContain(`2024-03-28 is history: this workspace has pushed 2024-03-29 since, so \\"${step}\\" leaves it as pushed (git checkout 2024-03-28 && dvc checkout shows that day) and changes nothing`);
    }
    expect(await snapshot(ws)).toEqual(before.files);
    expect(await git('rev-parse', 'HEAD')).toBe(before.head);
    expect(await tags()).toEqual(before.tags);
  }, 120_000);

  it('says so for a day inside a pushed history that has no tag of its own', async () => {
    const rerun = await chatcast(['train', '--date', '2024-03-22', '--workspace', ws]);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain('it has no tag of its own: its data was pushed with a later day');
  });

  it('checking out a day\'s tag still shows that day after track re-sends it', async () => {
    const tagsBefore = await tags();
    const tracked = await chatcast(['track', '--date', '2024-03-28', '--workspace', ws]);
    expect(tracked.exitCode, tracked.stderr).toBe(0);
    expect(await tags()).toEqual(tagsBefore);
    // The latest state is still the newest day's.
    expect(JSON.parse(await readFile(join(ws, 'evaluate', 'metrics.json'), 'utf8')).day).toBe('2024-03-29');
  }, 60_000);
});

describe('days after the newest pushed one', () => {
  it('refuses a mistyped year before anything is written', async () => {
    const before = await snapshot(ws);
    const typo = await chatcast(['run', '--date', '1026-10-27', '--workspace', ws]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('Invalid --date "1026-10-27": expected a day on or after 2000-01-01');
    const far = await chatcast(['ingest', '--date', '2024-06-01', '--workspace', ws]);
    expect(far.exitCode).toBe(2);
    expect(far.stderr).toContain(
      'Invalid --date "2024-06-01": the last day pushed from this workspace is 2024-03-29, 64 days earlier; expected at most 31 days after it, or pass --catch-up to fill the 63 days between in this run',
    );
    expect(far.stderr).not.toMatch(/\n\s+at /);
    expect(await snapshot(ws)).toEqual(before);
  });

  it('fills a short gap (downtime) in the same run, so the series has every hour', async () => {
    const run = await chatcast(['run', '--date', '2024-04-02', '--workspace', ws]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('ingested');
    expect(run.stdout).toContain('(2024-03-30 … 2024-04-02, a catch-up)');
    const days = new Set((await readSeriesText(join(ws, 'aggregate', 'hourly'))).trim().split('\n').slice(1).map((l) => l.split('\t')[1]));
    for (const day of ['2024-03-30', '2024-03-31', '2024-04-01', '2024-04-02']) expect(days.has(day), day).toBe(true);
    expect(await git('tag', '--list', '2024-04-02')).toBe('2024-04-02');
  }, 120_000);
});

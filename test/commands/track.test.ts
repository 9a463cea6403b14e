import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { chatcast, tempDir, workspaceWithHistory } from '../helpers.js';
import { readBack, startMlflowServer, type MlflowServer } from '../support/mlflow-server.js';
import { startClearmlStandin } from '../support/clearml-server.js';
import { dayPath } from '../../tasks/core/pipeline.js';

// `chatcast run` with MLflow as the tracker, against a real `mlflow server`: several days, a rerun,
// the server down for two days and back, then MLflow's own Python client reads every day back.
const TOKEN = 'mlflow-token-9f8e7d6c5b4a';
const BEFORE = ['2024-03-27', '2024-03-28']; // tracked while the server is up
const DOWN = ['2024-03-29', '2024-03-30']; // the server is down on these two days
const AFTER = '2024-03-31'; // back up: this run catches up the two days
const ALL = [...BEFORE, ...DOWN, AFTER];
let root: string;
let ws: string;
let server: MlflowServer;
let env: Record<string, string>;
const runs: Record<string, { exitCode: number; stdout: string; stderr: string }> = {};
const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd }).then((r) => r.stdout.trim());
const json = async (path: string) => JSON.parse(await readFile(path, 'utf8'));
const caption = (day: string) => readFile(join(ws, dayPath('report/outbox', day), 'caption.txt'), 'utf8');

beforeAll(async () => {
  server = await startMlflowServer();
  root = await tempDir();
  ws = await workspaceWithHistory(root, 'tracked', '2024-03-18', '2024-03-26');
  env = { CHATCAST_TRACKERS: 'local,mlflow', MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_TOKEN: TOKEN };
  for (const day of BEFORE) runs[day] = await chatcast(['run', '--date', day, '--workspace', ws], env);
  await server.stop();
  for (const day of DOWN) runs[day] = await chatcast(['run', '--date', day, '--workspace', ws], env);
  await server.start();
  runs[AFTER] = await chatcast(['run', '--date', AFTER, '--workspace', ws], env);
}, 900_000);

afterAll(async () => {
  await server?.stop();
});

describe('chatcast run with MLflow', () => {
  it('a day whose tracker is down still gets its forecast, push and report; the run then fails retryably', async () => {
    for (const day of [...BEFORE, AFTER]) expect(runs[day].exitCode, runs[day].stderr + runs[day].stdout).toBe(0);
    for (const day of DOWN) {
      expect(runs[day].exitCode, runs[day].stderr).toBe(7);
      expect(runs[day].stderr).toContain('Could not track mlflow');
      expect(runs[day].stderr).toContain('the next "chatcast track" sends them');
      expect(existsSync(join(ws, dayPath('report/outbox', day), 'caption.txt'))).toBe(true); // the report went out
      expect(await caption(day)).not.toContain('Метрики:');
    }
    expect((await git(ws, 'tag')).split('\n')).toEqual(['2024-03-26', ...ALL]);
    expect(await git(ws, 'status', '--porcelain')).toBe('');
    for (const out of Object.values(runs)) expect(out.stdout + out.stderr).not.toContain(TOKEN);
  });

  it('after the outage the two missed days appear once each: exactly one run per chat day', async () => {
    const back = await readBack(server.uri, 'chatcast/tracked');
    expect(back.runs.map((r) => r.tags['chatcast.day']).sort()).toEqual(ALL);
    const ledger = await json(join(ws, 'track', 'ledger.json'));
    expect(ledger.trackers.mlflow.pending).toEqual({});
    for (const run of back.runs) {
      const day = run.tags['chatcast.day'];
      expect(ledger.trackers.mlflow.days[day].id).toBe(run.id);
      expect(run.tags['chatcast.chat']).toBe('tracked');
      expect(run.tags['chatcast.tag']).toBe(day);
      expect(run.tags['chatcast.commit']).toMatch(/^[0-9a-f]{40}$/);
      expect(run.params['train.model']).toBe('auto');
      expect(run.params['model.name']).toBeTruthy();
      expect(run.metrics.actual_total).toBeGreaterThanOrEqual(0);
      expect(run.metrics.next_total).toBeGreaterThan(0);
      // step = days since the chat's first day (2024-03-18); timestamp = the day's local midnight
      expect(run.history.actual_total).toEqual([{ step: daysFrom('2024-03-18', day).length - 1, timestamp: Date.parse(`${day}T00:00:00+01:00`), value: run.metrics.actual_total }]);
      expect(run.artifacts.sort()).toEqual(['actual.png', 'forecast.png', `forecast-${daysFrom(day, '2024-04-01')[1]}.json`].sort());
      expect(run.artifact_md5['actual.png']).toBe((await execa('md5sum', [join(ws, dayPath('render', day), 'actual.png')])).stdout.split(' ')[0]);
      expect(run.datasets.map((d) => d.name)).toEqual(['hourly']);
    }
    const scored = back.runs.find((r) => r.tags['chatcast.day'] === '2024-03-28')!;
    const history = await readFile(join(ws, 'evaluate', 'history.tsv'), 'utf8');
    const row = history.split('\n').find((l) => l.startsWith('2024-03-28'))!.split('\t');
    expect(scored.metrics.smape).toBeCloseTo(Number(row[2]), 6);
    expect(scored.metrics.naive_smape).toBeCloseTo(Number(row[8]), 6);
  });

  it("the morning caption links the day's run page", async () => {
    const ledger = await json(join(ws, 'track', 'ledger.json'));
    for (const day of [...BEFORE, AFTER]) {
      const run = ledger.trackers.mlflow.days[day];
      expect(run.url).toBe(`${server.uri}/#/experiments/${run.experiment}/runs/${run.id}`);
      expect(await caption(day)).toContain(`Метрики: ${run.url}`);
    }
    const page = await fetch(ledger.trackers.mlflow.days[AFTER].url.split('#')[0]);
    expect(page.status).toBe(200);
  });

  it('a rerun of a day updates its run instead of making another, and changes nothing in the workspace', async () => {
    const head = await git(ws, 'rev-parse', 'HEAD');
    const before = await readBack(server.uri, 'chatcast/tracked');
    const rerun = await chatcast(['run', '--date', AFTER, '--workspace', ws], env);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const track = await chatcast(['track', '--date', '2024-03-28', '--workspace', ws], env);
    expect(track.exitCode, track.stderr).toBe(0);
    const after = await readBack(server.uri, 'chatcast/tracked');
    expect(after.runs.map((r) => r.id).sort()).toEqual(before.runs.map((r) => r.id).sort());
    for (const run of after.runs) expect(run.history.actual_total).toHaveLength(1);
    expect(await git(ws, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('with ClearML chosen first, the day becomes a ClearML task too and the caption links its page; the ledger holds no secret', async () => {
    const clearml = await startClearmlStandin();
    try {
      const both = {
        ...env,
        CHATCAST_TRACKERS: 'clearml,mlflow',
        CLEARML_API_HOST: clearml.apiHost,
        CLEARML_WEB_HOST: clearml.webHost,
        CLEARML_FILES_HOST: clearml.filesHost,
        CLEARML_API_ACCESS_KEY: clearml.accessKey,
        CLEARML_API_SECRET_KEY: clearml.secretKey,
      };
      const tracked = await chatcast(['track', '--date', AFTER, '--workspace', ws], both);
      expect(tracked.exitCode, tracked.stderr).toBe(0);
      const state = await clearml.state();
      expect(state.tasks.map((t) => [t.name, t.status])).toEqual([[`tracked ${AFTER}`, 'completed']]); // a tracker starts at the day it is switched on
      const ledger = await json(join(ws, 'track', 'ledger.json'));
      const task = ledger.trackers.clearml.days[AFTER];
      expect(task.id).toBe(state.tasks[0].id);
      expect((await fetch(task.url)).status).toBe(200);
      const report = await chatcast(['report', '--date', AFTER, '--workspace', ws], both);
      expect(report.exitCode, report.stderr).toBe(0);
      expect(await caption(AFTER)).toContain(`Метрики: ${task.url}`);
      const text = await readFile(join(ws, 'track', 'ledger.json'), 'utf8');
      for (const secret of [TOKEN, clearml.accessKey, clearml.secretKey]) {
        expect(text).not.toContain(secret);
        expect(tracked.stdout + tracked.stderr + report.stdout + report.stderr).not.toContain(secret);
      }
    } finally {
      await clearml.close();
    }
  });

  it('a bad tracker setting is refused before anything is sent (exit 3), naming the variable', async () => {
    const bad = await chatcast(['track', '--date', AFTER, '--workspace', ws], { ...env, CHATCAST_TRACKERS: 'mlflow,wandb' });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('Invalid $CHATCAST_TRACKERS "mlflow,wandb": expected a comma-separated list of local, mlflow, clearml');
    const unset = await chatcast(['track', '--date', AFTER, '--workspace', ws], { CHATCAST_TRACKERS: 'mlflow' });
    expect(unset.exitCode).toBe(3);
    expect(unset.stderr).toContain('MLFLOW_TRACKING_URI is not set');
    expect(unset.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChatcastError, type ChatcastError } from '../../../tasks/core/errors.js';
import type { TrackedDay, TrackRecord } from '../../../tasks/core/tracking.js';
import { mlflowTracker } from '../../../tasks/io/trackers/mlflow.js';
import { FIXTURES, tempDir } from '../../helpers.js';
import { readBack, startMlflowServer, type MlflowServer, type ReadbackRun } from '../../support/mlflow-server.js';

// Recognisable secrets: no error message may carry them.
const TOKEN = 'tok-3f9c1e7a-secret-bearer';
const PASSWORD = 'pw-8d2b4f6c-secret-basic';
const UI = 'http://mlflow.example.org:5000';
const DAYS = ['2024-04-01', '2024-04-02', '2024-04-03'];
const CHARTS = ['quiet', 'ordinary', 'busy'];
const LONG_SPEC = JSON.stringify({ weights: Array.from({ length: 1500 }, (_, i) => Math.round(Math.sin(i) * 1e4) / 1e4) });

let server: MlflowServer;
let filesDir: string;
let clock = Date.UTC(2024, 3, 4, 6, 0, 0);
const now = () => (clock += 1000);

const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<ChatcastError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isChatcastError(error)) throw new Error(`expected a ChatcastError, got ${String(error)}`);
  return error;
}

function configError(run: () => unknown): ChatcastError {
  try {
    run();
  } catch (error) {
    if (isChatcastError(error)) return error;
    throw error;
  }
  throw new Error('expected a ChatcastError');
}

// A chat day as `track` builds it, with real files (the chart fixtures and a small forecast JSON).
async function day(chat: string, index: number, change: { params?: Record<string, string>; metrics?: Record<string, number> } = {}): Promise<TrackedDay> {
  const d = DAYS[index];
  const next = DAYS[index + 1] ?? '2024-04-04';
  const dir = join(filesDir, chat, d);
  await mkdir(dir, { recursive: true });
  await copyFile(join(FIXTURES, 'charts', `${CHARTS[index]}-actual.png`), join(dir, 'actual.png'));
  await copyFile(join(FIXTURES, 'charts', `${CHARTS[index]}-forecast.png`), join(dir, 'forecast.png'));
  await writeFile(join(dir, `forecast-${next}.json`), JSON.stringify({ day: next, total: 140 + index, hours: [1, 2, 3] }) + '\n');
  const scored = index > 0;
  const metrics: Record<string, number> = {
    ...(scored ? { smape: 0.2345 + index / 100, mae: 1.75, rmse: 2.5, coverage80: 0.79, forecast_total: 118.5 + index } : {}),
    actual_total: 120 + index,
    next_total: 140 + index,
    next_total_lo: 100,
    next_total_hi: 181.25,
    'choice.knn_168h_50': 0.3125,
    'choice.yesterday': 0.4,
    ...change.metrics,
  };
  const series_md5 = md5(`${chat} series through ${d}`);
  return {
    chat,
    title: `Test chat ${chat}`,
    timezone: 'Europe/Berlin',
    day: d,
    step: 10 + index,
    timestamp: Date.parse(`${d}T00:00:00+02:00`),
    experiment: `chatcast-test/${chat}`,
    status: scored ? 'scored' : 'skipped',
    params: {
      'train.model': 'auto',
      'train.select_days': '56',
      'model.name': 'knn_168h_50',
      'model.spec': LONG_SPEC,
      'choice.chosen': 'knn_168h_50',
      'data.through': d,
      ...change.params,
    },
    metrics,
    tags: {
      'chatcast.day': d,
      'chatcast.chat': chat,
      'chatcast.timezone': 'Europe/Berlin',
      'chatcast.model': 'knn_168h_50',
      'chatcast.tag': `chatcast/${chat}/${d}`,
      'chatcast.commit': md5(d).slice(0, 40),
      'chatcast.series_md5': series_md5,
    },
    version: { tag: `chatcast/${chat}/${d}`, commit: md5(d).slice(0, 40), series_md5, model_md5: null },
    files: [
      { name: 'actual.png', path: join(dir, 'actual.png'), contentType: 'image/png' },
      { name: 'forecast.png', path: join(dir, 'forecast.png'), contentType: 'image/png' },
      { name: `forecast-${next}.json`, path: join(dir, `forecast-${next}.json`), contentType: 'application/json' },
    ],
    plots: [],
  };
}

const env = (extra: Record<string, string> = {}) => ({ MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_TOKEN: TOKEN, ...extra });

// The run of a day, checked against what was sent: MLflow's own client reads it back.
async function expectDay(run: ReadbackRun, sent: TrackedDay) {
  expect(run.name).toBe(`${sent.chat} ${sent.day}`);
  expect(run.status).toBe('FINISHED');
  expect(run.tags).toMatchObject({ ...sent.tags, 'mlflow.runName': `${sent.chat} ${sent.day}` });
  expect(run.tags['mlflow.note.content']).toContain(sent.title);
  expect(run.tags['mlflow.note.content']).toContain(sent.day);
  expect(run.tags['mlflow.note.content']).toContain('Europe/Berlin');
  expect(run.tags['mlflow.note.content']).toContain(String(sent.metrics.actual_total));

  const { 'model.spec': spec, ...short } = sent.params;
  expect(run.params).toMatchObject(short);
  expect(Object.keys(run.params).sort()).toEqual(Object.keys(sent.params).sort());
  // 6000 characters at most (the server would cut it silently), the same on every run, the whole value's md5 kept.
  expect(run.params['model.spec'].length).toBeLessThanOrEqual(6000);
  expect(spec.startsWith(run.params['model.spec'].slice(0, 5900))).toBe(true);
  expect(run.params['model.spec']).toContain(md5(spec));

  expect(run.metrics).toEqual(sent.metrics);
  expect(run.history).toEqual(
    Object.fromEntries(Object.entries(sent.metrics).map(([key, value]) => [key, [{ step: sent.step, timestamp: sent.timestamp, value }]])),
  );

  expect(run.artifacts).toEqual(sent.files.map((f) => f.name).sort());
  for (const file of sent.files) expect(run.artifact_md5[file.name]).toBe(md5(await readFile(file.path)));

  expect(run.datasets).toEqual([
    {
      name: 'hourly',
      digest: sent.version.series_md5,
      source_type: 'dvc',
      source: JSON.stringify({ tag: sent.version.tag, path: 'aggregate/hourly' }),
      tags: { 'mlflow.data.context': 'training' },
    },
  ]);
}

const runOf = (runs: ReadbackRun[], d: string) => {
  const found = runs.filter((r) => r.tags['chatcast.day'] === d);
  expect(found).toHaveLength(1);
  return found[0];
};

beforeAll(async () => {
  filesDir = await tempDir('chatcast-mlflow-files-');
  server = await startMlflowServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('mlflowTracker configuration', () => {
  it('refuses a missing or bad MLFLOW_TRACKING_URI, half credentials or a bad UI URL with exit 3, no secret quoted', () => {
    const missing = configError(() => mlflowTracker({}));
    expect(missing.exitCode).toBe(3);
    expect(missing.message).toMatch(/^MLFLOW_TRACKING_URI is not set: expected/);

    const ftp = configError(() => mlflowTracker({ MLFLOW_TRACKING_URI: 'ftp://x' }));
    expect(ftp.exitCode).toBe(3);
    expect(ftp.message).toContain('Invalid MLFLOW_TRACKING_URI "ftp://x": expected an http(s) URL');

    const inline = configError(() => mlflowTracker({ MLFLOW_TRACKING_URI: `http://me:${PASSWORD}@mlflow:5000` }));
    expect(inline.exitCode).toBe(3);
    expect(inline.message).not.toContain(PASSWORD);
    expect(inline.message).toContain('MLFLOW_TRACKING_USERNAME');

    const half = configError(() => mlflowTracker({ MLFLOW_TRACKING_URI: 'http://mlflow:5000', MLFLOW_TRACKING_PASSWORD: PASSWORD }));
    expect(half.exitCode).toBe(3);
    expect(half.message).not.toContain(PASSWORD);

    const ui = configError(() => mlflowTracker({ MLFLOW_TRACKING_URI: 'http://mlflow:5000', CHATCAST_MLFLOW_UI_URL: 'mlflow.example.org' }));
    expect(ui.exitCode).toBe(3);
    expect(ui.message).toContain('Invalid CHATCAST_MLFLOW_UI_URL "mlflow.example.org"');
  });
});

describe('mlflowTracker against a real MLflow server', () => {
  const records: TrackRecord[] = [];
  const sent: TrackedDay[] = [];

  it('sends three days: one finished run each, with metrics, params, tags, artifacts and the dataset', async () => {
    const tracker = mlflowTracker(env({ CHATCAST_MLFLOW_UI_URL: `${UI}/` }), { now });
    for (let i = 0; i < 3; i++) {
      sent.push(await day('alpha', i));
      const before = clock;
      records.push(await tracker.track(sent[i]));
      expect(Date.parse(records[i].tracked_at)).toBeGreaterThan(before);
    }
    const back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const run = runOf(back.runs, DAYS[i]);
      expect(records[i]).toEqual({
        id: run.id,
        url: `${UI}/#/experiments/${back.experiment_id}/runs/${run.id}`,
        experiment: back.experiment_id,
        tracked_at: new Date(run.end_time!).toISOString(),
      });
      await expectDay(run, sent[i]);
    }
    expect(back.deleted_runs).toEqual([]);
  });

  it('a rerun updates the same run, by the ledger record and by tags, with one point per metric and one input', async () => {
    const tracker = mlflowTracker(env(), { now });
    const again = await tracker.track(sent[1], records[1]);
    expect(again.id).toBe(records[1].id);
    expect(again.url).toBe(`${server.uri}/#/experiments/${records[1].experiment}/runs/${records[1].id}`);
    const found = await tracker.track(sent[1]);
    expect(found.id).toBe(records[1].id);

    const back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs).toHaveLength(3);
    for (let i = 0; i < 3; i++) await expectDay(runOf(back.runs, DAYS[i]), sent[i]);
    expect(back.deleted_runs).toEqual([]);
  });

  it('keeps the oldest of duplicate runs for a day and deletes the others; a deleted ledger run is not reused', async () => {
    const created = await fetch(`${server.uri}/api/2.0/mlflow/runs/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        experiment_id: records[2].experiment,
        start_time: clock + 60_000,
        run_name: 'a second run of the day',
        tags: Object.entries(sent[2].tags).map(([key, value]) => ({ key, value })),
      }),
    });
    const duplicate = ((await created.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    const tracker = mlflowTracker(env(), { now });
    expect((await tracker.track(sent[2])).id).toBe(records[2].id);
    expect((await tracker.track(sent[2], { ...records[2], id: duplicate })).id).toBe(records[2].id);

    const back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(back.deleted_runs).toEqual([duplicate]);
    await expectDay(runOf(back.runs, DAYS[2]), sent[2]);
  });

  it('a changed param or metric value leaves exactly one active run for the day, with the new values', async () => {
    const tracker = mlflowTracker(env(), { now });
    const old = records[0].id;
    sent[0] = await day('alpha', 0, { params: { 'model.name': 'knn_72h_91' } });
    records[0] = await tracker.track(sent[0], records[0]);
    expect(records[0].id).not.toBe(old);
    let back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs).toHaveLength(3);
    expect(back.deleted_runs).toContain(old);
    await expectDay(runOf(back.runs, DAYS[0]), sent[0]);

    const older = records[0].id;
    sent[0] = await day('alpha', 0, { params: { 'model.name': 'knn_72h_91' }, metrics: { actual_total: 119 } });
    records[0] = await tracker.track(sent[0]);
    expect(records[0].id).not.toBe(older);
    back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs).toHaveLength(3);
    expect(back.deleted_runs).toContain(older);
    await expectDay(runOf(back.runs, DAYS[0]), sent[0]);
  });

  it('sends the bearer token or the basic credentials; retries a 503; 401 is a CONFIG error, a hang a timeout, neither quoting a secret', async () => {
    const seen: { method: string; path: string; authorization?: string }[] = [];
    let mode: 'pass' | 'deny' | 'hang' | 'busy' = 'pass';
    let busy = 0;
    const proxy: Server = createServer(async (req, res) => {
      seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
      if (mode === 'hang') return; // never answers
      if (mode === 'deny') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error_code: 'UNAUTHENTICATED', message: 'You are not authenticated' }));
      }
      if (mode === 'busy' && busy-- > 0) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('busy');
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${server.uri}${req.url}`, {
        method: req.method,
        headers: req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {},
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const uri = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const beta = await day('beta', 1);
      await mlflowTracker({ MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_TOKEN: TOKEN }, { now }).track(beta);
      expect(seen.length).toBeGreaterThan(5);
      expect(seen.some((s) => s.method === 'PUT' && s.path.includes('/api/2.0/mlflow-artifacts/artifacts/'))).toBe(true);
      expect(new Set(seen.map((s) => s.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
      expect(seen.every((s) => !s.path.includes(TOKEN))).toBe(true);

      seen.length = 0;
      const basic = { MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_USERNAME: 'chatcast', MLFLOW_TRACKING_PASSWORD: PASSWORD };
      await mlflowTracker(basic, { now }).track(beta);
      expect(new Set(seen.map((s) => s.authorization))).toEqual(new Set([`Basic ${Buffer.from(`chatcast:${PASSWORD}`).toString('base64')}`]));

      mode = 'busy';
      busy = 2;
      seen.length = 0;
      await mlflowTracker(basic, { now }).track(beta);
      expect(seen[0].path).toBe(seen[2].path); // the first call, answered on its third attempt

      mode = 'deny';
      const denied = await rejection(mlflowTracker(basic, { now }).track(beta));
      expect(denied.exitCode).toBe(3);
      expect(denied.message).toContain('HTTP 401');
      expect(denied.message).not.toContain(PASSWORD);

      mode = 'hang';
      seen.length = 0;
      const hung = await rejection(mlflowTracker({ MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_TOKEN: TOKEN }, { now, timeoutMs: 300 }).track(beta));
      expect(hung.exitCode).toBe(7);
      expect(hung.message).toContain(`MLflow at ${uri} is unreachable (no answer within 0.3 s, 3 attempts)`);
      expect(hung.message).not.toContain(TOKEN);
      expect(seen).toHaveLength(3);

      const back = await readBack(server.uri, 'chatcast-test/beta');
      expect(back.runs).toHaveLength(1);
      await expectDay(back.runs[0], beta);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('refuses, with exit 3, an experiment whose artifacts the server does not proxy', async () => {
    const created = await fetch(`${server.uri}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'chatcast-test/delta', artifact_location: join(server.dir, 'plain-artifacts') }),
    });
    expect(created.ok).toBe(true);
    const error = await rejection(mlflowTracker(env(), { now }).track(await day('delta', 1)));
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('--artifacts-destination');
  });

  it('an outage fails with exit 7 and no secret; once the server is back the day goes through and nothing was lost', async () => {
    const tracker = mlflowTracker(env(), { now });
    await server.stop();
    const started = Date.now();
    const error = await rejection(tracker.track(sent[2], records[2]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900); // two retries, 0.5 s and 1.5 s apart
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain(`MLflow at ${server.uri} is unreachable (ECONNREFUSED`);
    expect(error.message).not.toContain(TOKEN);
    expect(String(error.stack)).not.toContain(TOKEN);

    await server.start();
    expect((await tracker.track(sent[2], records[2])).id).toBe(records[2].id);
    const back = await readBack(server.uri, 'chatcast-test/alpha');
    expect(back.runs.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    for (let i = 0; i < 3; i++) await expectDay(runOf(back.runs, DAYS[i]), sent[i]);
  });
});

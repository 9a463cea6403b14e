import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrackedDay, TrackRecord, Tracker } from '../../../tasks/core/tracking.js';
import { clearmlTracker } from '../../../tasks/io/trackers/clearml.js';
import { FIXTURES, tempDir } from '../../helpers.js';
import { startClearmlStandin, type ClearmlStandin, type StandinState } from '../../support/clearml-server.js';

const DAYS = ['2024-04-01', '2024-04-02', '2024-04-03'];
const LOOKS = ['quiet', 'ordinary', 'busy'];
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let server: ClearmlStandin;
let dir: string;
let env: NodeJS.ProcessEnv;
let tracker: Tracker;
const records: Record<string, TrackRecord> = {};

// A chat day as `track` builds it, with real files: the fixture charts and a small forecast JSON.
async function chatDay(index: number, changes: { params?: Record<string, string | undefined>; smape?: number } = {}): Promise<TrackedDay> {
  const day = DAYS[index];
  const folder = join(dir, `${day}-${Object.keys(changes).length ? 'rerun' : 'first'}`);
  await mkdir(folder, { recursive: true });
  const look = LOOKS[index];
  await copyFile(join(FIXTURES, 'charts', `${look}-actual.png`), join(folder, 'actual.png'));
  await copyFile(join(FIXTURES, 'charts', `${look}-forecast.png`), join(folder, 'forecast.png'));
  const json = `forecast-${nextDay(day)}.json`;
  await writeFile(join(folder, json), JSON.stringify({ day: nextDay(day), total: 115 + index, hours: [1, 2, 3, 4] }) + '\n');
  const params: Record<string, string | undefined> = {
    'train.model': 'auto',
    'train.select_days': '28',
    'model.name': 'knn',
    'model.spec': '{"k":7}',
    'choice.chosen': 'knn',
    'choice.compared': '2024-03-01..2024-03-28 (28 days)',
    'data.through': day,
    'data.hours': String(240 + 24 * index),
    ...changes.params,
  };
  return {
    chat: 'demo',
    title: 'Demo chat',
    timezone: 'Europe/Moscow',
    day,
    step: 30 + index,
    timestamp: Date.parse(`${day}T00:00:00+03:00`),
    experiment: 'chatcast/demo',
    status: 'scored',
    params: Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)),
    metrics: {
      smape: changes.smape ?? 0.4 + index / 100,
      mae: 2.5 + index,
      rmse: 3.25,
      mase: 0.875,
      pinball: 1.125,
      coverage80: 0.75,
      naive_smape: 0.625,
      naive_mae: 3.5,
      naive_rmse: 4.5,
      actual_total: 120 + index,
      forecast_total: 110,
      next_total: 115 + index,
      next_total_lo: 90,
      next_total_hi: 140,
      'choice.knn': 0.375,
      'choice.profile': 0.5,
    },
    tags: {
      'chatcast.day': day,
      'chatcast.chat': 'demo',
      'chatcast.timezone': 'Europe/Moscow',
      'chatcast.model': params['model.name'] ?? 'knn',
      'chatcast.tag': `chat-demo/${day}`,
      'chatcast.commit': 'abc1234',
    },
    version: { tag: `chat-demo/${day}`, commit: 'abc1234', series_md5: null, model_md5: null },
    files: [
      { name: 'actual.png', path: join(folder, 'actual.png'), contentType: 'image/png' },
      { name: 'forecast.png', path: join(folder, 'forecast.png'), contentType: 'image/png' },
      { name: json, path: join(folder, json), contentType: 'application/json' },
    ],
    plots: [
      { name: 'actual', figure: { data: [{ type: 'bar', x: [0, 1, 2], y: [3, 1, 4 + index] }], layout: { title: { text: `Actual ${day}` } } } },
      { name: 'forecast', figure: { data: [{ type: 'scatter', x: [0, 1, 2], y: [2, 7, 1] }], layout: { title: { text: `Forecast ${nextDay(day)}` } } } },
    ],
  };
}

const tasksOf = (state: StandinState, day: string) => state.tasks.filter((t) => t.tags.includes(`chatcast.day=${day}`));
const eventsOf = (state: StandinState, task: string, type: string) => state.events.filter((e) => e.task === task && e.type === type);

async function token(): Promise<string> {
  const basic = Buffer.from(`${server.accessKey}:${server.secretKey}`).toString('base64');
  const response = await fetch(`${server.apiHost}/auth.login`, { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: '{}' });
  return ((await response.json()) as { data: { token: string } }).data.token;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${await token()}` } });
  expect(response.status, url).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

async function rejection(promise: Promise<unknown>): Promise<Error & { exitCode?: number; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { exitCode?: number; code?: string };
  }
  throw new Error('expected a rejection');
}

function expectNoSecret(message: string) {
  expect(message).not.toContain(server.secretKey);
  expect(message).not.toContain(server.accessKey);
}

beforeAll(async () => {
  server = await startClearmlStandin();
  dir = await tempDir('chatcast-clearml-test-');
  env = {
    CLEARML_API_HOST: server.apiHost,
    CLEARML_WEB_HOST: server.webHost,
    CLEARML_FILES_HOST: server.filesHost,
    CLEARML_API_ACCESS_KEY: server.accessKey,
    CLEARML_API_SECRET_KEY: server.secretKey,
  };
  tracker = clearmlTracker(env);
});

afterAll(async () => {
  await server?.close();
});

describe('the ClearML tracker', () => {
  it('sends each chat day as one completed task of the chat project: hyper-parameters, scalars, plots, images, artifacts', async () => {
    const days: TrackedDay[] = [];
    for (let i = 0; i < DAYS.length; i++) {
      days.push(await chatDay(i));
      records[DAYS[i]] = await tracker.track(days[i]);
    }
    const state = await server.state();
    const project = state.projects.find((p) => p.name === 'chatcast/demo')!;
    expect(project).toBeDefined();
    expect(state.projects.find((p) => p.id === project.parent)?.name).toBe('chatcast');
    expect(state.tasks).toHaveLength(3);

    for (const day of days) {
      const record = records[day.day];
      const [task, ...others] = tasksOf(state, day.day);
      expect(others).toEqual([]);
      expect(record).toMatchObject({ id: task.id, experiment: project.id, url: `${server.webHost}/projects/${project.id}/experiments/${task.id}/output/execution` });
      expect(Date.parse(record.tracked_at)).not.toBeNaN();
      expect((await fetch(record.url)).status).toBe(200);
      expect(task).toMatchObject({ name: `demo ${day.day}`, type: 'inference', status: 'completed', project: project.id });
      expect([...task.tags].sort()).toEqual(['chatcast', `chatcast.chat=demo`, `chatcast.day=${day.day}`]);
      expect(task.comment).toContain('Demo chat');

      expect(task.hyperparams.train.model.value).toBe('auto');
      expect(task.hyperparams.model.spec.value).toBe('{"k":7}');
      expect(task.hyperparams.choice.compared.value).toBe(day.params['choice.compared']);
      expect(task.hyperparams.data.through.value).toBe(day.day);
      expect(task.hyperparams.tags['chatcast.tag'].value).toBe(`chat-demo/${day.day}`);
      const steps = task.history.map((h) => h.endpoint);
      expect(steps.indexOf('tasks.edit_hyper_params')).toBeGreaterThan(-1);
      expect(steps.indexOf('tasks.edit_hyper_params')).toBeLessThan(steps.indexOf('tasks.started'));
      expect(task.history.find((h) => h.endpoint === 'tasks.edit_hyper_params')!.status_before).toBe('created');
      expect(steps.at(-1)).toBe('tasks.completed');

      const scalars = eventsOf(state, task.id, 'training_stats_scalar');
      expect(scalars).toHaveLength(Object.keys(day.metrics).length);
      for (const e of scalars) expect(e).toMatchObject({ iter: day.step, timestamp: day.timestamp });
      const scalar = (metric: string, variant: string) => scalars.find((e) => e.metric === metric && e.variant === variant)?.value;
      expect(scalar('sMAPE', 'chatcast')).toBe(day.metrics.smape);
      expect(scalar('sMAPE', 'naive')).toBe(day.metrics.naive_smape);
      expect(scalar('MAE', 'chatcast')).toBe(day.metrics.mae);
      expect(scalar('total', 'actual')).toBe(day.metrics.actual_total);
      expect(scalar('next total', 'hi')).toBe(day.metrics.next_total_hi);
      expect(scalar('choice', 'profile')).toBe(0.5);

      const plots = eventsOf(state, task.id, 'plot');
      expect(plots.map((p) => p.variant).sort()).toEqual(['actual', 'forecast']);
      for (const plot of plots) {
        expect(plot.iter).toBe(day.step);
        expect(JSON.parse(plot.plot_str as string)).toEqual(day.plots.find((p) => p.name === plot.variant)!.figure);
      }

      const images = eventsOf(state, task.id, 'training_debug_image');
      expect(images.map((e) => e.variant).sort()).toEqual(['actual', 'forecast']);
      for (const image of images) {
        expect(image.iter).toBe(day.step);
        const png = await readFile(day.files.find((f) => f.name === `${image.variant}.png`)!.path);
        expect((await download(image.url as string)).equals(png)).toBe(true);
      }

      const json = `forecast-${nextDay(day.day)}`;
      expect(task.artifacts.map((a) => a.key).sort()).toEqual(['actual', 'forecast', json]);
      for (const artifact of task.artifacts) {
        const file = day.files.find((f) => f.name.startsWith(`${artifact.key}.`))!;
        const bytes = await readFile(file.path);
        expect(artifact).toMatchObject({ mode: 'output', type: file.contentType === 'image/png' ? 'image' : 'JSON', content_size: bytes.length, hash: sha256(bytes) });
        expect(artifact.uri).toBe(`${server.filesHost}/chatcast/demo/demo%20${day.day}.${task.id}/artifacts/${artifact.key}/${file.name}`);
        expect((await download(artifact.uri)).equals(bytes)).toBe(true);
      }
    }
  });

  it('updates the same task on a rerun, found by the ledger id or by its tags, and replaces its hyper-parameters', async () => {
    const rerun = await chatDay(1, { params: { 'model.name': 'profile', 'choice.compared': undefined }, smape: 0.25 });
    const record = await tracker.track(rerun, records[DAYS[1]]);
    expect(record.id).toBe(records[DAYS[1]].id);
    let state = await server.state();
    const [task, ...others] = tasksOf(state, DAYS[1]);
    expect(others).toEqual([]);
    expect(task.status).toBe('completed');
    expect(task.hyperparams.model.name.value).toBe('profile');
    expect(task.hyperparams.choice.compared).toBeUndefined();
    const last = task.history.slice(task.history.map((h) => h.endpoint).lastIndexOf('tasks.reset'));
    expect(last.map((h) => h.endpoint)).toEqual([
      'tasks.reset',
      'tasks.edit',
      'tasks.edit_hyper_params',
      'tasks.started',
      'tasks.add_or_update_artifacts',
      'tasks.completed',
    ]);
    expect(last[0].status_before).toBe('completed');
    const scalars = eventsOf(state, task.id, 'training_stats_scalar');
    expect(scalars).toHaveLength(Object.keys(rerun.metrics).length);
    expect(scalars.find((e) => e.metric === 'sMAPE' && e.variant === 'chatcast')?.value).toBe(0.25);
    expect(eventsOf(state, task.id, 'plot')).toHaveLength(2);
    expect(task.artifacts).toHaveLength(3);

    const byTags = await tracker.track(await chatDay(2));
    expect(byTags.id).toBe(records[DAYS[2]].id);
    const stale = await tracker.track(await chatDay(0), { id: 'no-such-task', url: '', tracked_at: new Date().toISOString() });
    expect(stale.id).toBe(records[DAYS[0]].id);
    state = await server.state();
    expect(state.tasks).toHaveLength(3);
    for (const day of DAYS) expect(tasksOf(state, day).map((t) => t.status)).toEqual(['completed']);
  });

  it('logs in again when its token has expired', async () => {
    const before = (await server.state()).logins;
    await server.expireTokens();
    await tracker.track(await chatDay(0), records[DAYS[0]]);
    const state = await server.state();
    expect(state.logins).toBe(before + 1);
    expect(state.calls.some((c) => c.status === 401 && c.subcode === 30)).toBe(true);
  });

  it('retries a failing server, and marks the task failed when the day cannot be sent', async () => {
    await server.faults([{ endpoint: 'tasks.started', status: 503, msg: 'busy', times: 2 }]);
    await tracker.track(await chatDay(0), records[DAYS[0]]);
    let state = await server.state();
    expect(state.calls.filter((c) => c.endpoint === 'tasks.started' && c.status === 503)).toHaveLength(2);
    expect(tasksOf(state, DAYS[0])[0].status).toBe('completed');

    await server.faults([{ endpoint: 'events.add_batch', event_errors: 'Iteration number should not exceed 9223372036854775807' }]);
    const refused = await rejection(tracker.track(await chatDay(0), records[DAYS[0]]));
    expect(refused).toMatchObject({ name: 'ChatcastError', code: 'EXTERNAL', exitCode: 7 });
    expect(refused.message).toContain('Iteration number should not exceed');
    state = await server.state();
    expect(tasksOf(state, DAYS[0])[0]).toMatchObject({ status: 'failed', status_message: expect.stringContaining('Iteration number') });

    await server.faults([{ endpoint: 'files.upload', status: 500, msg: 'disk full', times: 3 }]);
    const down = await rejection(tracker.track(await chatDay(0), records[DAYS[0]]));
    expect(down).toMatchObject({ code: 'EXTERNAL', exitCode: 7 });
    expect(down.message).toContain(`ClearML at ${server.filesHost} is unreachable`);
    expect(tasksOf(await server.state(), DAYS[0])[0].status).toBe('failed');

    await server.faults([]);
    expect((await tracker.track(await chatDay(0), records[DAYS[0]])).id).toBe(records[DAYS[0]].id);
    expect(tasksOf(await server.state(), DAYS[0])[0].status).toBe('completed');
  });

  it('says ClearML is unreachable while the server is down, and sends the day once it is back', async () => {
    await server.stop();
    const error = await rejection(tracker.track(await chatDay(1), records[DAYS[1]]));
    expect(error).toMatchObject({ name: 'ChatcastError', code: 'EXTERNAL', exitCode: 7 });
    expect(error.message).toContain(`ClearML at ${server.apiHost} is unreachable`);
    expect(error.message).toContain('kept to be sent');
    expectNoSecret(error.message);

    await server.start();
    const record = await tracker.track(await chatDay(1), records[DAYS[1]]);
    expect(record.id).toBe(records[DAYS[1]].id);
    const state = await server.state();
    expect(state.tasks).toHaveLength(3);
    expect(tasksOf(state, DAYS[1])[0].status).toBe('completed');
  });

  it('takes refused keys for a configuration error, without quoting them', async () => {
    const wrong = clearmlTracker({ ...env, CLEARML_API_SECRET_KEY: 'not-the-secret-key-42' });
    const error = await rejection(wrong.track(await chatDay(0)));
    expect(error).toMatchObject({ name: 'ChatcastError', code: 'CONFIG', exitCode: 3 });
    expect(error.message).toContain('CLEARML_API_SECRET_KEY');
    expect(error.message).not.toContain('not-the-secret-key-42');
    expectNoSecret(error.message);
  });

  it('checks its configuration before sending anything', () => {
    const { CLEARML_FILES_HOST: _, ...missing } = env;
    expect(() => clearmlTracker(missing)).toThrow(expect.objectContaining({ code: 'CONFIG', exitCode: 3, message: expect.stringContaining('CLEARML_FILES_HOST') }));
    expect(() => clearmlTracker({ ...env, CLEARML_API_HOST: 'ftp://x' })).toThrow('Invalid CLEARML_API_HOST "ftp://x": expected an http(s) URL');
  });

  it('talks to a stand-in that refuses what the real server refuses', async () => {
    const bearer = { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' };
    const api = async (endpoint: string, body: string, headers: Record<string, string> = bearer) => {
      const response = await fetch(`${server.apiHost}/${endpoint}`, { method: 'POST', headers, body });
      const reply = (await response.json()) as { meta: { result_code: number; result_subcode: number; result_msg: string } };
      expect(reply.meta.result_code).toBe(response.status);
      return { status: response.status, ...reply.meta };
    };
    const project = (await server.state()).projects.find((p) => p.name === 'chatcast/demo')!.id;
    const valid = { name: 'probe', type: 'inference', project };

    expect(await api('tasks.create', JSON.stringify(valid))).toMatchObject({ status: 200 });
    expect(await api('tasks.create', JSON.stringify({ ...valid, bogus: 1 }))).toMatchObject({ status: 400, result_subcode: 12, result_msg: expect.stringContaining('bogus') });
    expect(await api('tasks.create', JSON.stringify({ ...valid, type: 'forecast' }))).toMatchObject({ status: 400, result_msg: expect.stringContaining('forecast') });
    expect(await api('tasks.create', JSON.stringify({ ...valid, name: 5 }))).toMatchObject({ status: 400 });
    const artifact = { key: 'x', type: 'image', uri: 'http://files/x.png', content_size: 3, hash: 'abc' };
    const completed = records[DAYS[2]].id;
    expect(await api('tasks.add_or_update_artifacts', JSON.stringify({ task: completed, artifacts: [{ ...artifact, size: 3 }] }))).toMatchObject({ status: 400, result_msg: expect.stringContaining('size') });
    expect(await api('tasks.add_or_update_artifacts', JSON.stringify({ task: completed, artifacts: [artifact] }))).toMatchObject({ status: 400, result_subcode: 110 });
    expect(await api('tasks.edit_hyper_params', JSON.stringify({ task: completed, hyperparams: [{ section: 's', name: 'n', value: 'v' }] }))).toMatchObject({
      status: 400,
      result_subcode: 110,
    });

    const event = { task: completed, type: 'training_stats_scalar', metric: 'm', variant: 'v', value: 1, iter: 0 };
    const lines = { ...bearer, 'content-type': 'application/json-lines' };
    expect(await api('events.add_batch', JSON.stringify([event]), lines)).toMatchObject({ status: 400, result_subcode: 18 });
    expect(await api('events.add_batch', JSON.stringify(event), bearer)).toMatchObject({ status: 400, result_subcode: 18 });
    expect(await api('events.add_batch', JSON.stringify({ ...event, iter: 1.5 }), lines)).toMatchObject({ status: 400, result_msg: expect.stringContaining('iter') });
    expect(await api('events.add_batch', JSON.stringify({ ...event, task: 'nope' }), lines)).toMatchObject({ status: 200 });

    const basic = `Basic ${Buffer.from(`${server.accessKey}:${server.secretKey}`).toString('base64')}`;
    expect(await api('tasks.create', JSON.stringify(valid), { authorization: basic })).toMatchObject({ status: 401, result_subcode: 10 });
    expect(await api('tasks.create', JSON.stringify(valid), {})).toMatchObject({ status: 401, result_subcode: 20 });
  });
});

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ChatcastError } from '../../core/errors.js';
import type { TrackedDay, Tracker, TrackRecord } from '../../core/tracking.js';
import { scrub } from '../log.js';

// The server's limits (mlflow/utils/validation.py, 3.x): longer param and tag values are cut silently
// (MLFLOW_TRUNCATE_LONG_VALUES) or refused, and a log-batch call holds at most this many entities.
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;
const MAX_PARAMS_TAGS_PER_BATCH = 100;
const MAX_ENTITIES_PER_BATCH = 1000;
const MAX_BATCH_JSON = 900_000; // the server refuses a log-batch body over 1e6 characters
const RETRY_DELAYS_MS = [500, 1500];
const DATASET = 'hourly';
const DATASET_PATH = 'aggregate/hourly';

interface KeyValue {
  key: string;
  value: string;
}
interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}
interface Run {
  info: { run_id: string; experiment_id: string; start_time?: number; artifact_uri?: string; lifecycle_stage?: string };
  data?: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: { dataset: { name: string; digest: string } }[] };
}
interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage?: string;
}

interface Config {
  uri: string;
  ui: string;
  authorization?: string;
  timeoutMs: number;
  now: () => number;
  env: NodeJS.ProcessEnv;
}

// A refusal MLflow explained (4xx with its error_code), so callers can tell "not found" from real failures.
class MlflowRefusal extends ChatcastError {
  constructor(
    readonly status: number,
    readonly mlflowCode: string,
    message: string,
  ) {
    super('EXTERNAL', message);
  }
}

const refused = (error: unknown, ...codes: string[]) => error instanceof MlflowRefusal && codes.includes(error.mlflowCode);

function httpUrl(name: string, value: string, env: NodeJS.ProcessEnv): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.username || url?.password || /\/\/[^/]*@/.test(value)) {
    throw new ChatcastError(
      'CONFIG',
      `Invalid ${name}: expected a URL without user:password (not shown here); set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD instead`,
    );
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ChatcastError('CONFIG', scrub(`Invalid ${name} "${value}": expected an http(s) URL such as http://mlflow:5000`, env));
  }
  return url;
}

const base = (url: URL) => `${url.origin}${url.pathname.replace(/\/+$/, '')}`;

function configFromEnv(env: NodeJS.ProcessEnv, options: { timeoutMs?: number; now?: () => number }): Config {
  if (!env.MLFLOW_TRACKING_URI) {
    throw new ChatcastError('CONFIG', 'MLFLOW_TRACKING_URI is not set: expected the MLflow server\'s http(s) URL, such as http://mlflow:5000');
  }
  const uri = base(httpUrl('MLFLOW_TRACKING_URI', env.MLFLOW_TRACKING_URI, env));
  const ui = env.CHATCAST_MLFLOW_UI_URL ? base(httpUrl('CHATCAST_MLFLOW_UI_URL', env.CHATCAST_MLFLOW_UI_URL, env)) : uri;
  const { MLFLOW_TRACKING_USERNAME: user, MLFLOW_TRACKING_PASSWORD: password, MLFLOW_TRACKING_TOKEN: token } = env;
  if (Boolean(user) !== Boolean(password)) {
    throw new ChatcastError(
      'CONFIG',
      user
        ? 'MLFLOW_TRACKING_USERNAME is set without MLFLOW_TRACKING_PASSWORD: expected both for Basic authentication (or MLFLOW_TRACKING_TOKEN alone)'
        : 'MLFLOW_TRACKING_PASSWORD is set without MLFLOW_TRACKING_USERNAME: expected both for Basic authentication (or MLFLOW_TRACKING_TOKEN alone)',
    );
  }
  // Basic before Bearer, as MLflow's own client (mlflow/utils/rest_utils.py) chooses.
  const authorization = user && password ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : token ? `Bearer ${token}` : undefined;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new ChatcastError('CONFIG', `Invalid MLflow timeoutMs ${timeoutMs}: expected a positive number of milliseconds`);
  return { uri, ui, authorization, timeoutMs, now: options.now ?? Date.now, env };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function networkReason(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

async function explain(response: Response): Promise<{ code: string; message: string }> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string; detail?: unknown };
    if (body.error_code || body.message) return { code: body.error_code ?? `HTTP_${response.status}`, message: body.message ?? '' };
    if (body.detail) return { code: `HTTP_${response.status}`, message: typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail) };
  } catch {
    // not JSON: a proxy's or another server's page
  }
  return { code: `HTTP_${response.status}`, message: text.replace(/\s+/g, ' ').trim().slice(0, 200) };
}

// One MLflow call with the retries a flaky network deserves; every message passes through scrub.
async function request<T>(config: Config, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const what = `${method} ${new URL(url).pathname}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.authorization) headers.authorization = config.authorization;
  if (body !== undefined) headers['content-type'] = contentType;
  const payload = body === undefined ? undefined : body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body);
  let lastReason = '';
  let lastError: unknown;
  for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await sleep(RETRY_DELAYS_MS[attempt - 1]);
    let response: Response;
    let text = '';
    try {
      response = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(config.timeoutMs) });
      if (response.ok) text = await response.text();
    } catch (error) {
      lastError = error;
      lastReason = networkReason(error, config.timeoutMs);
      continue;
    }
    if (response.ok) {
      try {
        return (text ? JSON.parse(text) : {}) as T;
      } catch (error) {
        throw new ChatcastError(
          'EXTERNAL',
          scrub(`${config.uri} answered ${what} with something other than JSON ("${text.replace(/\s+/g, ' ').slice(0, 80)}"): expected MLflow's REST API there`, config.env),
          { cause: error },
        );
      }
    }
    const { code, message } = await explain(response);
    if (response.status === 401 || response.status === 403) {
      throw new ChatcastError(
        'CONFIG',
        scrub(
          `MLflow at ${config.uri} refused the credentials on ${what} (HTTP ${response.status}${message ? `: ${message}` : ''}): ` +
            'expected a valid MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD with access to the experiment',
          config.env,
        ),
      );
    }
    if (response.status === 503 && /artifact serving/i.test(message)) {
      throw new ChatcastError('CONFIG', scrub(`MLflow at ${config.uri} does not serve artifacts (${message}): run it with --serve-artifacts and --artifacts-destination`, config.env));
    }
    if (response.status === 429 || response.status >= 500) {
      lastError = undefined;
      lastReason = `HTTP ${response.status} on ${what}${message ? `: ${code} ${message}` : ''}`;
      continue;
    }
    throw new MlflowRefusal(response.status, code, scrub(`MLflow at ${config.uri} refused ${what} (HTTP ${response.status} ${code}): ${message}`, config.env));
  }
  throw new ChatcastError(
    'EXTERNAL',
    scrub(`MLflow at ${config.uri} is unreachable (${lastReason}, ${RETRY_DELAYS_MS.length + 1} attempts): the day is kept in the ledger and sent when it is up`, config.env),
    lastError === undefined ? undefined : { cause: lastError },
  );
}

const api = (config: Config, path: string) => `${config.uri}/api/2.0/mlflow/${path}`;

// A value cut to the server's limit the same way on every run: a prefix and the whole value's md5.
function shorten(value: string, limit: number): string {
  const chars = Array.from(value);
  if (chars.length <= limit) return value;
  const suffix = `… [${chars.length} chars, md5 ${createHash('md5').update(value).digest('hex')}]`;
  return chars.slice(0, limit - suffix.length).join('') + suffix;
}

function quoted(name: string, value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new ChatcastError('INPUT', `Invalid ${name} "${value}" for an MLflow search: expected no quotes of both kinds`);
}

const total = (value: number | undefined) => (value === undefined ? '–' : String(Math.round(value * 10) / 10));

function note(day: TrackedDay): string {
  const m = day.metrics;
  const range = m.next_total_lo !== undefined && m.next_total_hi !== undefined ? ` (80%: ${total(m.next_total_lo)}–${total(m.next_total_hi)})` : '';
  return [
    `**${day.title}** — ${day.day} (${day.timezone})`,
    '',
    day.status === 'scored'
      ? `Messages: ${total(m.actual_total)} actual, ${total(m.forecast_total)} forecast.`
      : `Messages: ${total(m.actual_total)} actual; no forecast had been made for this day.`,
    `Next day: ${total(m.next_total)} forecast${range}.`,
  ].join('\n');
}

interface Wanted {
  params: KeyValue[];
  metrics: Metric[];
  tags: KeyValue[];
  digest: string;
  runName: string;
}

function wanted(day: TrackedDay): Wanted {
  const runName = `${day.chat} ${day.day}`;
  return {
    runName,
    params: Object.entries(day.params).map(([key, value]) => ({ key, value: shorten(value, MAX_PARAM_VALUE) })),
    metrics: Object.entries(day.metrics)
      .filter(([, value]) => Number.isFinite(value))
      .map(([key, value]) => ({ key, value, timestamp: day.timestamp, step: day.step })),
    tags: [
      ...Object.entries(day.tags).map(([key, value]) => ({ key, value: shorten(value, MAX_TAG_VALUE) })),
      { key: 'mlflow.runName', value: runName },
      { key: 'mlflow.note.content', value: shorten(note(day), MAX_TAG_VALUE) },
    ],
    digest: day.version.series_md5 ?? 'unknown',
  };
}

// Why a run cannot carry the day as it is now: MLflow keeps params, metric points and dataset inputs
// for good, so a changed or stale one means a fresh run. Undefined when the run can be updated.
function conflict(run: Run, want: Wanted): string | undefined {
  const params = new Map(want.params.map((p) => [p.key, p.value]));
  for (const p of run.data?.params ?? []) {
    if (params.get(p.key) !== p.value) return `param ${p.key}`;
  }
  const metrics = new Map(want.metrics.map((m) => [m.key, m]));
  for (const m of run.data?.metrics ?? []) {
    const w = metrics.get(m.key);
    if (!w || w.value !== m.value || w.step !== m.step || w.timestamp !== m.timestamp) return `metric ${m.key}`;
  }
  for (const input of run.inputs?.dataset_inputs ?? []) {
    if (input.dataset.name !== DATASET || input.dataset.digest !== want.digest) return `dataset ${input.dataset.name}`;
  }
  return undefined;
}

function batches(want: Wanted, run: Run): { params: KeyValue[]; metrics: Metric[]; tags: KeyValue[] }[] {
  const params = new Map((run.data?.params ?? []).map((p) => [p.key, p.value]));
  const tags = new Map((run.data?.tags ?? []).map((t) => [t.key, t.value]));
  const logged = new Set((run.data?.metrics ?? []).map((m) => m.key));
  const items = [
    ...want.params.filter((p) => params.get(p.key) !== p.value).map((p) => ['params', p] as const),
    ...want.tags.filter((t) => tags.get(t.key) !== t.value).map((t) => ['tags', t] as const),
    ...want.metrics.filter((m) => !logged.has(m.key)).map((m) => ['metrics', m] as const),
  ];
  const out: { params: KeyValue[]; metrics: Metric[]; tags: KeyValue[] }[] = [];
  let current = { params: [] as KeyValue[], metrics: [] as Metric[], tags: [] as KeyValue[] };
  let size = 0;
  for (const [kind, item] of items) {
    const itemSize = JSON.stringify(item).length + 1;
    const count = current.params.length + current.metrics.length + current.tags.length;
    const full =
      count >= MAX_ENTITIES_PER_BATCH ||
      size + itemSize > MAX_BATCH_JSON ||
      (kind !== 'metrics' && current[kind].length >= MAX_PARAMS_TAGS_PER_BATCH);
    if (full && count > 0) {
      out.push(current);
      current = { params: [], metrics: [], tags: [] };
      size = 0;
    }
    (current[kind] as unknown[]).push(item);
    size += itemSize;
  }
  if (current.params.length + current.metrics.length + current.tags.length > 0) out.push(current);
  return out;
}

async function experimentId(config: Config, name: string): Promise<string> {
  const byName = async () =>
    (await request<{ experiment: Experiment }>(config, 'GET', api(config, `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`))).experiment;
  let experiment: Experiment;
  try {
    experiment = await byName();
  } catch (error) {
    if (!refused(error, 'RESOURCE_DOES_NOT_EXIST')) throw error;
    try {
      return (await request<{ experiment_id: string }>(config, 'POST', api(config, 'experiments/create'), { name })).experiment_id;
    } catch (created) {
      if (!refused(created, 'RESOURCE_ALREADY_EXISTS')) throw created;
      experiment = await byName();
    }
  }
  if (experiment.lifecycle_stage && experiment.lifecycle_stage !== 'active') {
    throw new ChatcastError(
      'CONFIG',
      `MLflow experiment "${name}" (id ${experiment.experiment_id}) is ${experiment.lifecycle_stage}: expected an active one; restore it in the MLflow UI, or purge it with \`mlflow gc --experiment-ids ${experiment.experiment_id}\` so chatcast creates it anew`,
    );
  }
  return experiment.experiment_id;
}

async function searchDay(config: Config, experiment: string, day: TrackedDay): Promise<Run[]> {
  const filter = `tags."chatcast.day" = ${quoted('day', day.day)} and tags."chatcast.chat" = ${quoted('chat', day.chat)}`;
  const runs: Run[] = [];
  let page_token: string | undefined;
  do {
    const page = await request<{ runs?: Run[]; next_page_token?: string }>(config, 'POST', api(config, 'runs/search'), {
      experiment_ids: [experiment],
      filter,
      run_view_type: 'ACTIVE_ONLY',
      max_results: 1000,
      order_by: ['attributes.start_time ASC'],
      ...(page_token ? { page_token } : {}),
    });
    runs.push(...(page.runs ?? []));
    page_token = page.next_page_token || undefined;
  } while (page_token);
  return runs.sort((a, b) => (a.info.start_time ?? 0) - (b.info.start_time ?? 0) || a.info.run_id.localeCompare(b.info.run_id));
}

async function getRun(config: Config, id: string): Promise<Run | undefined> {
  try {
    return (await request<{ run: Run }>(config, 'GET', api(config, `runs/get?run_id=${encodeURIComponent(id)}`))).run;
  } catch (error) {
    if (refused(error, 'RESOURCE_DOES_NOT_EXIST', 'INVALID_PARAMETER_VALUE')) return undefined;
    throw error;
  }
}

const deleteRun = (config: Config, id: string) => request(config, 'POST', api(config, 'runs/delete'), { run_id: id });

// The one active run of the day: the ledger's, else the oldest found by tags; any other is deleted.
async function dayRun(config: Config, experiment: string, day: TrackedDay, known: TrackRecord | undefined): Promise<Run | undefined> {
  const tagOf = (run: Run, key: string) => run.data?.tags?.find((t) => t.key === key)?.value;
  let keep: Run | undefined;
  if (known?.id) {
    const run = await getRun(config, known.id);
    if (
      run?.info.lifecycle_stage === 'active' &&
      run.info.experiment_id === experiment &&
      tagOf(run, 'chatcast.day') === day.day &&
      tagOf(run, 'chatcast.chat') === day.chat
    ) {
      keep = run;
    }
  }
  const found = await searchDay(config, experiment, day);
  keep ??= found[0];
  for (const run of found) if (run.info.run_id !== keep?.info.run_id) await deleteRun(config, run.info.run_id);
  return keep;
}

function artifactRoot(config: Config, run: Run): string {
  const uri = run.info.artifact_uri ?? '';
  if (!uri.startsWith('mlflow-artifacts:')) {
    throw new ChatcastError(
      'CONFIG',
      `MLflow run ${run.info.run_id} keeps its artifacts at "${uri}", which chatcast cannot upload to: expected an mlflow-artifacts: location; ` +
        'run the server with --serve-artifacts (the default) and --artifacts-destination, and use an experiment created under that setting (an experiment keeps the artifact root it was created with)',
    );
  }
  const parsed = new URL(uri);
  const tracking = new URL(config.uri);
  const host = parsed.host ? `${tracking.protocol}//${parsed.host}` : tracking.origin;
  const path = parsed.pathname
    .split('/')
    .filter(Boolean)
    .map((segment) => encodeURIComponent(decodeURIComponent(segment)))
    .join('/');
  return `${host}${tracking.pathname.replace(/\/+$/, '')}/api/2.0/mlflow-artifacts/artifacts/${path}`;
}

// The MLflow tracker: one run per chat day in the experiment `day.experiment`, through the REST API.
export function mlflowTracker(env: NodeJS.ProcessEnv, options: { timeoutMs?: number; now?: () => number } = {}): Tracker {
  const config = configFromEnv(env, options);
  return {
    name: 'mlflow',
    async track(day: TrackedDay, known?: TrackRecord): Promise<TrackRecord> {
      const want = wanted(day);
      const files = await Promise.all(
        day.files.map(async (file) => {
          try {
            return { ...file, bytes: new Uint8Array(await readFile(file.path)) };
          } catch (error) {
            throw new ChatcastError('STATE', `Cannot read ${file.path} to send to MLflow as ${file.name}: ${(error as Error).message}`, { cause: error });
          }
        }),
      );
      const experiment = await experimentId(config, day.experiment);
      let run = await dayRun(config, experiment, day, known);
      if (run && conflict(run, want)) {
        await deleteRun(config, run.info.run_id);
        run = undefined;
      }
      if (!run) {
        run = (
          await request<{ run: Run }>(config, 'POST', api(config, 'runs/create'), {
            experiment_id: experiment,
            run_name: want.runName,
            start_time: config.now(),
            tags: Object.entries(day.tags).map(([key, value]) => ({ key, value: shorten(value, MAX_TAG_VALUE) })),
          })
        ).run;
      }
      const runId = run.info.run_id;
      const root = artifactRoot(config, run);
      const wantedTags = new Set(want.tags.map((t) => t.key));
      for (const tag of run.data?.tags ?? []) {
        if (tag.key.startsWith('chatcast.') && !wantedTags.has(tag.key)) {
          await request(config, 'POST', api(config, 'runs/delete-tag'), { run_id: runId, key: tag.key });
        }
      }
      for (const batch of batches(want, run)) {
        await request(config, 'POST', api(config, 'runs/log-batch'), { run_id: runId, ...batch });
      }
      for (const file of files) {
        const name = file.name.split('/').map(encodeURIComponent).join('/');
        await request(config, 'PUT', `${root}/${name}`, file.bytes, file.contentType);
      }
      if (!(run.inputs?.dataset_inputs ?? []).some((i) => i.dataset.name === DATASET && i.dataset.digest === want.digest)) {
        await request(config, 'POST', api(config, 'runs/log-inputs'), {
          run_id: runId,
          datasets: [
            {
              tags: [{ key: 'mlflow.data.context', value: 'training' }],
              dataset: {
                name: DATASET,
                digest: want.digest,
                source_type: 'dvc',
                source: JSON.stringify({ tag: day.version.tag, path: DATASET_PATH }),
              },
            },
          ],
        });
      }
      const end = config.now();
      await request(config, 'POST', api(config, 'runs/update'), { run_id: runId, status: 'FINISHED', end_time: end });
      return {
        id: runId,
        url: `${config.ui}/#/experiments/${experiment}/runs/${runId}`,
        experiment,
        tracked_at: new Date(end).toISOString(),
      };
    },
  };
}

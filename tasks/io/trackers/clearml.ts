import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatcastError } from '../../core/errors.js';
import type { TrackedDay, TrackedFile, TrackRecord, Tracker } from '../../core/tracking.js';
import { scrub } from '../log.js';

// ClearML's REST protocol as clearml-server 2.x speaks it (https://clear.ml/docs/latest/docs/references/api/):
// POST <api>/<service>.<action>, a JSON body (JSON lines for events.add_batch), a {meta, data} reply.

const ENV = ['CLEARML_API_HOST', 'CLEARML_WEB_HOST', 'CLEARML_FILES_HOST', 'CLEARML_API_ACCESS_KEY', 'CLEARML_API_SECRET_KEY'] as const;
const RETRY_DELAYS_MS = [500, 1500];
const TASK_TYPE = 'inference';
const INVALID_TOKEN = 30; // clearml-server's 401 subcode for an expired or unknown token
const NOT_UNIQUE = 801; // projects.create: the name exists (another writer was first)

interface Config {
  api: string;
  web: string;
  files: string;
  accessKey: string;
  secretKey: string;
}

interface Meta {
  result_code?: number;
  result_subcode?: number;
  result_msg?: string;
}

interface Envelope<T> {
  meta?: Meta;
  data?: T;
}

interface TaskDoc {
  id: string;
  name: string;
  status: string;
  project?: string;
  tags?: string[];
}

// The server answered but refused; the caller decides what that means (re-login, a race, a failure).
class ApiRefusal extends Error {
  constructor(
    readonly endpoint: string,
    readonly code: number,
    readonly subcode: number,
    readonly serverMessage: string,
  ) {
    super(`ClearML refused ${endpoint}: ${serverMessage} (${code}/${subcode})`);
  }
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const values: Record<string, string> = {};
  for (const name of ENV) {
    const value = env[name]?.trim();
    if (!value) throw new ChatcastError('CONFIG', `${name} is not set: the clearml tracker needs ${ENV.join(', ')}`);
    values[name] = value;
  }
  for (const name of ['CLEARML_API_HOST', 'CLEARML_WEB_HOST', 'CLEARML_FILES_HOST'] as const) {
    let url: URL | undefined;
    try {
      url = new URL(values[name]);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw new ChatcastError('CONFIG', scrub(`Invalid ${name} "${values[name]}": expected an http(s) URL`, env));
    }
    values[name] = values[name].replace(/\/+$/, '');
  }
  return {
    api: values.CLEARML_API_HOST,
    web: values.CLEARML_WEB_HOST,
    files: values.CLEARML_FILES_HOST,
    accessKey: values.CLEARML_API_ACCESS_KEY,
    secretKey: values.CLEARML_API_SECRET_KEY,
  };
}

// Python's urllib.parse.quote: the SDK builds file-server keys and URLs with it.
function quote(text: string, safe = '/'): string {
  let out = '';
  for (const char of text) {
    if (/[A-Za-z0-9_.~-]/.test(char) || safe.includes(char)) out += char;
    else out += [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

// The SDK's quoting of a project or task folder (Task._get_output_destination_suffix).
const folder = (name: string) => quote(name, "'[]{}()$^,.; -_+-=/");

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The day's numbers as ClearML scalars: a score family per chart, chatcast's forecast against the naive one.
const FAMILIES: Record<string, string> = { smape: 'sMAPE', mae: 'MAE', rmse: 'RMSE', mase: 'MASE', pinball: 'pinball', coverage80: 'coverage80' };
function scalarOf(key: string): { metric: string; variant: string } {
  if (key.startsWith('naive_') && FAMILIES[key.slice(6)]) return { metric: FAMILIES[key.slice(6)], variant: 'naive' };
  if (FAMILIES[key]) return { metric: FAMILIES[key], variant: 'chatcast' };
  if (key === 'actual_total') return { metric: 'total', variant: 'actual' };
  if (key === 'forecast_total') return { metric: 'total', variant: 'forecast' };
  if (key === 'next_total') return { metric: 'next total', variant: 'forecast' };
  if (key === 'next_total_lo') return { metric: 'next total', variant: 'lo' };
  if (key === 'next_total_hi') return { metric: 'next total', variant: 'hi' };
  if (key.startsWith('choice.')) return { metric: 'choice', variant: key.slice(7) };
  return { metric: key, variant: 'chatcast' };
}

// Params become hyper-parameter sections by their prefix (train, model, choice, data); tags get their own.
function hyperparams(day: TrackedDay) {
  const items: { section: string; name: string; value: string }[] = [];
  for (const [key, value] of Object.entries(day.params)) {
    const dot = key.indexOf('.');
    items.push(dot > 0 ? { section: key.slice(0, dot), name: key.slice(dot + 1), value } : { section: 'chatcast', name: key, value });
  }
  for (const [key, value] of Object.entries(day.tags)) items.push({ section: 'tags', name: key, value });
  return items;
}

// The type the SDK gives an uploaded object of that kind, so Task.artifacts[key].get() reads it back.
function artifactType(file: TrackedFile): string {
  if (file.contentType.startsWith('image/')) return 'image';
  if (file.contentType === 'application/json') return 'JSON';
  return 'custom';
}

const stem = (name: string) => name.slice(0, name.length - extname(name).length) || name;

// Sends chat days to a ClearML server: a project per chat, a task per chat day, found again by its tags.
export function clearmlTracker(env: NodeJS.ProcessEnv, options: { timeoutMs?: number; now?: () => number } = {}): Tracker {
  const config = readConfig(env);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const now = options.now ?? Date.now;
  let token: string | undefined;

  const clean = (text: string) => scrub(text, env);

  // One HTTP exchange, retried while the server cannot be reached, is overloaded or throttles.
  async function send(url: string, init: RequestInit, attempts = RETRY_DELAYS_MS.length + 1): Promise<Response> {
    const host = new URL(url).origin;
    let problem = '';
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(RETRY_DELAYS_MS[attempt - 1] ?? RETRY_DELAYS_MS.at(-1));
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        if (response.status < 500 && response.status !== 429) return response;
        const text = await response.text().catch(() => '');
        let said: string | undefined;
        try {
          said = (JSON.parse(text) as Envelope<unknown>).meta?.result_msg;
        } catch {
          said = text.slice(0, 200) || undefined;
        }
        problem = `HTTP ${response.status}${said ? `: ${said}` : ''}`;
        last = undefined;
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        problem =
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${timeoutMs / 1000} s`
            : (cause?.code ?? cause?.message ?? (error as Error).message);
        last = error;
      }
    }
    throw new ChatcastError(
      'EXTERNAL',
      clean(`ClearML at ${host} is unreachable (${problem}, ${attempts} attempts); the day is kept to be sent when it is up`),
      last === undefined ? undefined : { cause: last },
    );
  }

  async function envelope<T>(endpoint: string, response: Response): Promise<Envelope<T>> {
    const text = await response.text();
    try {
      return JSON.parse(text) as Envelope<T>;
    } catch (error) {
      throw new ChatcastError('EXTERNAL', clean(`ClearML answered ${endpoint} with HTTP ${response.status} and no JSON: ${text.slice(0, 200)}`), {
        cause: error,
      });
    }
  }

  async function login(): Promise<string> {
    const basic = Buffer.from(`${config.accessKey}:${config.secretKey}`).toString('base64');
    const response = await send(`${config.api}/auth.login`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const reply = await envelope<{ token?: string }>('auth.login', response);
    if (response.status === 401 || response.status === 403) {
      throw new ChatcastError(
        'CONFIG',
        clean(
          `ClearML at ${config.api} refused the keys in CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY: ${reply.meta?.result_msg ?? response.status}`,
        ),
      );
    }
    if (response.status !== 200 || !reply.data?.token) {
      throw new ChatcastError('EXTERNAL', clean(`ClearML at ${config.api} gave no token: ${reply.meta?.result_msg ?? `HTTP ${response.status}`}`));
    }
    return reply.data.token;
  }

  // One API call with a token; an expired token is renewed once.
  async function call<T>(endpoint: string, body: object | string, opts: { attempts?: number } = {}): Promise<T> {
    const lines = typeof body === 'string';
    for (let renewed = false; ; renewed = true) {
      token ??= await login();
      const response = await send(
        `${config.api}/${endpoint}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': lines ? 'application/json-lines' : 'application/json' },
          body: lines ? body : JSON.stringify(body),
        },
        opts.attempts,
      );
      const reply = await envelope<T>(endpoint, response);
      const code = reply.meta?.result_code ?? response.status;
      if (response.status === 200 && code === 200) return (reply.data ?? {}) as T;
      if (response.status === 401 && reply.meta?.result_subcode === INVALID_TOKEN && !renewed) {
        token = undefined;
        continue;
      }
      throw new ApiRefusal(endpoint, code, reply.meta?.result_subcode ?? 0, clean(reply.meta?.result_msg ?? `HTTP ${response.status}`));
    }
  }

  async function projectId(name: string): Promise<string> {
    const find = async () =>
      (await call<{ projects?: { id: string; name: string }[] }>('projects.get_all', { name: `^${escapeRegex(name)}$`, only_fields: ['id', 'name'] }))
        .projects?.find((p) => p.name === name)?.id;
    const found = await find();
    if (found) return found;
    try {
      return (await call<{ id: string }>('projects.create', { name, description: `chatcast: ${name}` })).id;
    } catch (error) {
      const raced = error instanceof ApiRefusal && error.subcode === NOT_UNIQUE ? await find() : undefined;
      if (raced) return raced;
      throw error;
    }
  }

  const FIELDS = ['id', 'name', 'status', 'project', 'tags'];

  async function findTask(day: TrackedDay, project: string, known?: TrackRecord): Promise<TaskDoc | undefined> {
    const dayTag = `chatcast.day=${day.day}`;
    const chatTag = `chatcast.chat=${day.chat}`;
    if (known?.id) {
      const { tasks } = await call<{ tasks?: TaskDoc[] }>('tasks.get_all', { id: [known.id], only_fields: FIELDS });
      const task = tasks?.[0];
      if (task && task.project === project && task.tags?.includes(dayTag) && task.tags.includes(chatTag)) return task;
    }
    const { tasks } = await call<{ tasks?: TaskDoc[] }>('tasks.get_all', {
      project: [project],
      tags: ['__$all', dayTag, chatTag],
      only_fields: FIELDS,
      order_by: ['created'],
    });
    return tasks?.[0];
  }

  // Puts a file where the SDK's HTTP upload would and returns its URL on the file server.
  async function upload(file: TrackedFile, bytes: Buffer, key: string): Promise<string> {
    let response: Response;
    for (let renewed = false; ; renewed = true) {
      const form = new FormData();
      form.append(key, new Blob([new Uint8Array(bytes)], { type: file.contentType }), key);
      token ??= await login();
      response = await send(`${config.files}/`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      if (response.status !== 401 || renewed) break;
      await response.arrayBuffer().catch(() => undefined);
      token = undefined;
    }
    if (response.status !== 200) {
      const text = await response.text().catch(() => '');
      throw new ApiRefusal('the file upload', response.status, 0, clean(`${file.name}: ${text.slice(0, 200) || response.statusText}`));
    }
    await response.arrayBuffer().catch(() => undefined);
    return `${config.files}/${quote(key)}`;
  }

  async function sendDay(day: TrackedDay, task: string, projectName: string, taskName: string) {
    const uploaded: { file: TrackedFile; bytes: Buffer; uri: string }[] = [];
    for (const file of day.files) {
      const bytes = await readFile(file.path).catch((error: unknown) => {
        throw new ChatcastError('STATE', `Cannot read ${file.path} to send to ClearML: ${(error as Error).message}`, { cause: error });
      });
      const key = `${folder(projectName)}/${folder(`${taskName}.${task}`)}/artifacts/${stem(file.name)}/${file.name}`;
      uploaded.push({ file, bytes, uri: await upload(file, bytes, key) });
    }

    const base = { task, timestamp: day.timestamp, iter: day.step };
    const events: object[] = [];
    for (const [key, value] of Object.entries(day.metrics)) {
      if (Number.isFinite(value)) events.push({ ...base, type: 'training_stats_scalar', ...scalarOf(key), value });
    }
    for (const plot of day.plots) {
      events.push({ ...base, type: 'plot', metric: 'charts', variant: plot.name, plot_str: JSON.stringify(plot.figure) });
    }
    for (const { file, uri } of uploaded) {
      if (!file.contentType.startsWith('image/')) continue;
      events.push({ ...base, type: 'training_debug_image', metric: 'charts', variant: stem(file.name), url: uri, key: new URL(uri).pathname });
    }
    if (events.length) {
      const reply = await call<{ added?: number; errors?: number; errors_info?: Record<string, number> }>(
        'events.add_batch',
        events.map((e) => JSON.stringify(e)).join('\n'),
      );
      if (reply.errors) {
        throw new ChatcastError(
          'EXTERNAL',
          clean(`ClearML refused ${reply.errors} of ${events.length} events of ${day.day}: ${JSON.stringify(reply.errors_info ?? {})}`),
        );
      }
    }

    if (uploaded.length) {
      const timestamp = Math.floor(now() / 1000);
      await call('tasks.add_or_update_artifacts', {
        task,
        artifacts: uploaded.map(({ file, bytes, uri }) => ({
          key: stem(file.name),
          type: artifactType(file),
          mode: 'output',
          uri,
          content_size: bytes.length,
          hash: createHash('sha256').update(bytes).digest('hex'),
          timestamp,
          type_data: {
            content_type: file.contentType,
            preview:
              file.contentType === 'application/json' && bytes.length < 65_536 ? bytes.toString('utf8') : `${file.name} - ${bytes.length} bytes\n`,
          },
        })),
      });
    }
  }

  async function track(day: TrackedDay, known?: TrackRecord): Promise<TrackRecord> {
    const project = await projectId(day.experiment);
    const name = `${day.chat} ${day.day}`;
    const ours = ['chatcast', `chatcast.day=${day.day}`, `chatcast.chat=${day.chat}`];
    const comment = [
      `${day.title}: ${day.day} (${day.timezone})`,
      day.status === 'skipped' ? 'No forecast had been made for this day: only the forecast made on it is sent.' : 'Scored against the forecast made the day before.',
      `Data version: ${day.version.tag}`,
    ].join('\n');

    const found = await findTask(day, project, known);
    let task: string;
    if (!found) {
      task = (await call<{ id: string }>('tasks.create', { name, type: TASK_TYPE, project, tags: ours, comment })).id;
    } else {
      task = found.id;
      // clearml-server edits only a draft: a finished (or crashed, or published) task is reset first,
      // which also drops its events and output artifacts, so the rerun replaces them.
      if (found.status !== 'created') await call('tasks.reset', { task, force: true });
      const kept = (found.tags ?? []).filter((tag) => tag !== 'chatcast' && !tag.startsWith('chatcast.'));
      await call('tasks.edit', { task, name, comment, tags: [...ours, ...kept] });
    }

    await call('tasks.edit_hyper_params', { task, hyperparams: hyperparams(day), replace_hyperparams: 'all' });
    await call('tasks.started', { task, status_reason: 'chatcast track', status_message: `sending ${day.day}` });
    try {
      await sendDay(day, task, day.experiment, name);
      await call('tasks.completed', { task, status_reason: 'chatcast track', status_message: `sent ${day.day}` });
    } catch (error) {
      const reason = clean(error instanceof Error ? error.message : String(error)).slice(0, 500);
      await call('tasks.failed', { task, status_reason: 'chatcast track failed', status_message: reason }, { attempts: 1 }).catch(() => undefined);
      throw wrap(error);
    }
    return {
      id: task,
      url: `${config.web}/projects/${project}/experiments/${task}/output/execution`,
      experiment: project,
      tracked_at: new Date(now()).toISOString(),
    };
  }

  function wrap(error: unknown): unknown {
    if (error instanceof ApiRefusal) return new ChatcastError('EXTERNAL', error.message, { cause: error });
    return error;
  }

  return {
    name: 'clearml',
    async track(day, known) {
      try {
        return await track(day, known);
      } catch (error) {
        throw wrap(error);
      }
    },
  };
}

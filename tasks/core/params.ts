import { ChatcastError } from './errors.js';
import { parseDay, parseZone } from './dates.js';
import { DEFAULT_PROFILE, type SimulationProfile } from './simulate.js';
import type { AutoParams } from './choice.js';
import type { DirectKnnParams, RecursiveKnnParams } from './knn.js';
import type { ProfileParams } from './models.js';
import { TRACKERS, type TrackerName } from './tracking.js';

// params.yaml's train section: the per-chat choice, or one fixed forecaster.
export type TrainParams = AutoParams | DirectKnnParams | RecursiveKnnParams | ProfileParams;

// params.yaml, validated: one section per stage, as DVC's `params:` entries name them.
export interface Params {
  chat: { id: string; title: string; timezone: string };
  ingest: {
    source: string;
    store_text: boolean;
    chat: string; // for source mtproto: @username, numeric id or https://t.me/+HASH
    since: string | null; // mtproto's first run starts at this day (default: the day being ingested)
    page_size: number;
    max_wait_seconds: number;
    simulate: SimulationProfile;
  };
  train: TrainParams;
  render: { width: number; height: number; language: 'ru' | 'en' };
  track: { trackers: TrackerName[]; experiment: string };
}

// The values a params.yaml may leave out; the same as the checkout's params.yaml (a test keeps them equal).
export function defaultParams(): Params {
  return {
    chat: { id: '', title: 'Учебный чат', timezone: 'Europe/Berlin' },
    ingest: {
      source: 'simulate',
      store_text: false,
      chat: '',
      since: null,
      page_size: 100,
      max_wait_seconds: 120,
      simulate: { ...DEFAULT_PROFILE },
    },
    train: { model: 'auto', select_days: 56, pool: 3 },
    render: { width: 1200, height: 600, language: 'ru' },
    track: { trackers: ['local'], experiment: 'chatcast' },
  };
}

function section(raw: unknown, name: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ${name}: expected a mapping`);
  }
  return raw as Record<string, unknown>;
}

// A misspelt key would be silently ignored and its default used instead: refuse it, naming the known ones.
function known(raw: Record<string, unknown>, prefix: string, keys: string[]): Record<string, unknown> {
  const unknown = Object.keys(raw).find((key) => !keys.includes(key));
  if (unknown !== undefined) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ${prefix}${unknown}: expected only ${keys.join(', ')}`);
  }
  return raw;
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ChatcastError(
      'CONFIG',
      `Invalid params.yaml ${name} "${String(value)}": expected an integer from ${min} to ${max}`,
    );
  }
  return value;
}

function number(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ${name} "${String(value)}": expected a number from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new ChatcastError(
      'CONFIG',
      `Invalid params.yaml ${name} "${String(value)}": expected one of ${allowed.join(', ')}`,
    );
  }
  return value as T;
}

const TRAIN_KEYS = ['model', 'select_days', 'pool', 'k', 'window', 'transform', 'level', 'jitter', 'days', 'halflife', 'weekday'];

function trainParams(train: Record<string, unknown>): TrainParams {
  if ('band' in train) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml train.band "${JSON.stringify(train.band)}": the band is always the forecast distribution's 10% and 90% quantiles now; remove train.band`);
  }
  const unknown = Object.keys(train).find((key) => !TRAIN_KEYS.includes(key));
  if (unknown !== undefined) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml train.${unknown}: expected only ${TRAIN_KEYS.join(', ')}`);
  }
  const model = oneOf(train.model ?? 'auto', 'train.model', ['auto', 'knn_direct', 'knn_recursive', 'profile'] as const);
  const flag = (value: unknown, name: string, fallback: boolean): boolean => {
    const v = value ?? fallback;
    if (typeof v !== 'boolean') throw new ChatcastError('CONFIG', `Invalid params.yaml ${name} "${String(v)}": expected true or false`);
    return v;
  };
  switch (model) {
    case 'auto':
      return { model, select_days: integer(train.select_days ?? 56, 'train.select_days', 7, 365), pool: integer(train.pool ?? 3, 'train.pool', 1, 9) };
    case 'knn_recursive':
      return { model, k: integer(train.k ?? 1, 'train.k', 1, 1000), window: integer(train.window ?? 168, 'train.window', 1, 24 * 366) };
    case 'knn_direct':
      return {
        model,
        k: integer(train.k ?? 50, 'train.k', 1, 1000),
        window: integer(train.window ?? 168, 'train.window', 1, 24 * 366),
        transform: oneOf(train.transform ?? 'log1p', 'train.transform', ['log1p', 'none'] as const),
        level: flag(train.level, 'train.level', false),
        ...(train.jitter === undefined ? {} : { jitter: integer(train.jitter, 'train.jitter', 0, 6) }),
      };
    case 'profile':
      return {
        model,
        days: integer(train.days ?? 56, 'train.days', 1, 3660),
        halflife: number(train.halflife ?? 28, 'train.halflife', 0.1, 3660),
        weekday: number(train.weekday ?? 1, 'train.weekday', 0, 1),
        level: flag(train.level, 'train.level', false),
        ...(train.jitter === undefined ? {} : { jitter: integer(train.jitter, 'train.jitter', 0, 6) }),
      };
  }
}

// Checks a parsed params.yaml and fills what it leaves out from the defaults.
export function validateParams(raw: unknown): Params {
  const d = defaultParams();
  const top = known(section(raw, 'document'), '', Object.keys(d));
  const chat = known(section(top.chat, 'chat'), 'chat.', Object.keys(d.chat));
  const ingest = known(section(top.ingest, 'ingest'), 'ingest.', Object.keys(d.ingest));
  const simulate = known(section(ingest.simulate, 'ingest.simulate'), 'ingest.simulate.', Object.keys(d.ingest.simulate));
  const train = section(top.train, 'train');
  const render = known(section(top.render, 'render'), 'render.', Object.keys(d.render));
  const track = known(section(top.track, 'track'), 'track.', Object.keys(d.track));
  const storeText = ingest.store_text ?? d.ingest.store_text;
  if (typeof storeText !== 'boolean') {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ingest.store_text "${String(storeText)}": expected true or false`);
  }
  const source = ingest.source ?? d.ingest.source;
  if (typeof source !== 'string' || source === '') {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ingest.source "${String(source)}": expected a source such as simulate, mtproto, export:FILE or tsv:FILE`);
  }
  return {
    chat: {
      id: chatId(chat.id ?? d.chat.id),
      title: String(chat.title ?? d.chat.title),
      timezone: parseZone(chat.timezone ?? d.chat.timezone, 'params.yaml chat.timezone'),
    },
    ingest: {
      source,
      store_text: storeText,
      chat: String(ingest.chat ?? d.ingest.chat),
      since: ingest.since === undefined || ingest.since === null ? null : parseDay(ingest.since, 'params.yaml ingest.since'),
      page_size: integer(ingest.page_size ?? d.ingest.page_size, 'ingest.page_size', 1, 100),
      max_wait_seconds: integer(ingest.max_wait_seconds ?? d.ingest.max_wait_seconds, 'ingest.max_wait_seconds', 0, 3600),
      simulate: {
        seed: integer(simulate.seed ?? d.ingest.simulate.seed, 'ingest.simulate.seed', 0, 2 ** 31),
        base: number(simulate.base ?? d.ingest.simulate.base, 'ingest.simulate.base', 0, 1000),
        quietWeekShare: number(simulate.quietWeekShare ?? d.ingest.simulate.quietWeekShare, 'ingest.simulate.quietWeekShare', 0, 1),
        burstShare: number(simulate.burstShare ?? d.ingest.simulate.burstShare, 'ingest.simulate.burstShare', 0, 1),
        burstSize: number(simulate.burstSize ?? d.ingest.simulate.burstSize, 'ingest.simulate.burstSize', 0, 10000),
        senders: integer(simulate.senders ?? d.ingest.simulate.senders, 'ingest.simulate.senders', 1, 1_000_000),
      },
    },
    train: trainParams(train),
    render: {
      width: integer(render.width ?? d.render.width, 'render.width', 200, 4000),
      height: integer(render.height ?? d.render.height, 'render.height', 200, 4000),
      language: oneOf(render.language ?? d.render.language, 'render.language', ['ru', 'en'] as const),
    },
    track: {
      trackers: trackerList(Array.isArray(track.trackers) || track.trackers === undefined ? (track.trackers ?? d.track.trackers) : [String(track.trackers)], 'params.yaml track.trackers'),
      experiment: experimentName(track.experiment ?? d.track.experiment),
    },
  };
}

const CHAT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function chatId(value: unknown): string {
  if (value === '' || (typeof value === 'string' && CHAT_ID.test(value))) return value as string;
  throw new ChatcastError('CONFIG', `Invalid params.yaml chat.id "${String(value)}": expected lower-case letters, digits, _ and - (up to 64), or "" for the workspace folder's name`);
}

function experimentName(value: unknown): string {
  if (typeof value === 'string' && /^[^\x00-\x1f/][^\x00-\x1f]{0,199}$/.test(value) && !value.endsWith('/')) return value;
  throw new ChatcastError('CONFIG', `Invalid params.yaml track.experiment "${String(value)}": expected a name of up to 200 printable characters, not starting or ending with /`);
}

// The trackers a run uses: $CHATCAST_TRACKERS when set (a deployment switches without a commit),
// else params.yaml track.trackers; `local` always comes first (its files are the track stage's outputs).
export function chosenTrackers(params: Params, env: NodeJS.ProcessEnv): TrackerName[] {
  const chosen = env.CHATCAST_TRACKERS?.trim() ? trackerList(env.CHATCAST_TRACKERS, '$CHATCAST_TRACKERS') : params.track.trackers;
  return ['local', ...chosen.filter((t) => t !== 'local')];
}

// The trackers of params.yaml track.trackers or $CHATCAST_TRACKERS: known names, each once.
export function trackerList(value: unknown, what: string): TrackerName[] {
  const names = typeof value === 'string' ? value.split(',').map((n) => n.trim()).filter(Boolean) : value;
  const rule = `expected ${typeof value === 'string' ? 'a comma-separated list' : 'a list'} of ${TRACKERS.join(', ')}`;
  if (!Array.isArray(names) || names.some((n) => !TRACKERS.includes(n as TrackerName))) {
    throw new ChatcastError('CONFIG', `Invalid ${what} "${Array.isArray(value) ? value.join(',') : String(value)}": ${rule}`);
  }
  return [...new Set(names as TrackerName[])];
}

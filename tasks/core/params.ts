import { ChatcastError } from './errors.js';
import { parseDay, parseZone } from './dates.js';
import { DEFAULT_PROFILE, type SimulationProfile } from './simulate.js';
import type { DirectKnnParams, KnnParams } from './knn.js';

// params.yaml, validated: one section per stage, as DVC's `params:` entries name them.
export interface Params {
  chat: { title: string; timezone: string };
  ingest: {
    source: string;
    store_text: boolean;
    chat: string; // for source mtproto: @username, numeric id or https://t.me/+HASH
    since: string | null; // mtproto's first run starts at this day (default: the day being ingested)
    page_size: number;
    max_wait_seconds: number;
    simulate: SimulationProfile;
  };
  train: KnnParams;
  render: { width: number; height: number; language: 'ru' | 'en' };
}

// The values a params.yaml may leave out; the same as the checkout's params.yaml (a test keeps them equal).
export function defaultParams(): Params {
  return {
    chat: { title: 'Учебный чат', timezone: 'Europe/Berlin' },
    ingest: {
      source: 'simulate',
      store_text: false,
      chat: '',
      since: null,
      page_size: 100,
      max_wait_seconds: 120,
      simulate: { ...DEFAULT_PROFILE },
    },
    train: { model: 'knn_direct', k: 91, window: 72, transform: 'log1p', band: [0.1, 0.8] },
    render: { width: 1200, height: 600, language: 'ru' },
  };
}

function section(raw: unknown, name: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ${name}: expected a mapping`);
  }
  return raw as Record<string, unknown>;
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

function trainParams(train: Record<string, unknown>): KnnParams {
  const model = oneOf(train.model ?? 'knn_direct', 'train.model', ['knn_direct', 'knn_recursive'] as const);
  if (model === 'knn_recursive') {
    return {
      model,
      k: integer(train.k ?? 1, 'train.k', 1, 1000),
      window: integer(train.window ?? 168, 'train.window', 1, 24 * 366),
    };
  }
  const d = defaultParams().train as DirectKnnParams;
  const band = train.band ?? d.band;
  if (!Array.isArray(band) || band.length !== 2 || !(band[0] >= 0 && band[0] < 0.5 && band[1] > 0.5 && band[1] <= 1)) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml train.band "${JSON.stringify(band)}": expected [lower, upper] quantiles with 0 ≤ lower < 0.5 < upper ≤ 1`);
  }
  return {
    model,
    k: integer(train.k ?? d.k, 'train.k', 1, 1000),
    window: integer(train.window ?? d.window, 'train.window', 1, 24 * 366),
    transform: oneOf(train.transform ?? d.transform, 'train.transform', ['log1p', 'none'] as const),
    band: [band[0], band[1]],
  };
}

// Checks a parsed params.yaml and fills what it leaves out from the defaults.
export function validateParams(raw: unknown): Params {
  const top = section(raw, 'document');
  const chat = section(top.chat, 'chat');
  const ingest = section(top.ingest, 'ingest');
  const simulate = section(ingest.simulate, 'ingest.simulate');
  const train = section(top.train, 'train');
  const render = section(top.render, 'render');
  const d = defaultParams();
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
  };
}

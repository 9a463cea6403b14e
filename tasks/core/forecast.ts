import { createHash } from 'node:crypto';
import type { HourSlot } from './dates.js';
import { ChatcastError } from './errors.js';
import { disposeKnn, fitKnn, predictKnn, type KnnParams } from './knn.js';

// What `train` leaves for `forecast`: the fitted model's description; its values sit in values.bin.
export interface ModelCard {
  model: 'knn';
  params: KnnParams;
  method: 'knn' | 'naive_day'; // naive_day while the history is shorter than the model needs
  reason?: string;
  trained_through: string; // the last chat day in the training data
  timezone: string;
  hours: number;
  first_hour: string;
  last_hour: string;
  sha256: string; // of values.bin: the exact data the model saw
}

// One forecast hour.
export interface ForecastHour extends HourSlot {
  value: number;
}

// forecast/D.json: the hours of day D as forecast at the end of D-1, with where they came from.
export interface ForecastDoc {
  day: string;
  made_on: string;
  timezone: string;
  method: ModelCard['method'];
  model: ModelCard['model'];
  params: KnnParams;
  data: { through: string; hours: number; sha256: string };
  total: number;
  peak: { local: string; value: number };
  hours: ForecastHour[];
}

// Identifies training data by content, so a forecast names the data version it came from.
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Little-endian float32, the layout of train/values.bin.
export function valuesToBytes(values: Float32Array): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return new Uint8Array(view.buffer);
}

// Reads train/values.bin back.
export function bytesToValues(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

// The model card `train` writes for a history; picks the fallback when the history is too short.
export function describeModel(
  values: Float32Array,
  starts: string[],
  params: KnnParams,
  day: string,
  timezone: string,
): ModelCard {
  const needed = params.window + params.k;
  const enough = values.length >= needed;
  return {
    model: 'knn',
    params,
    method: enough ? 'knn' : 'naive_day',
    ...(enough ? {} : { reason: `history of ${values.length} h is shorter than window + k = ${needed} h` }),
    trained_through: day,
    timezone,
    hours: values.length,
    first_hour: starts[0],
    last_hour: starts[starts.length - 1],
    sha256: sha256(valuesToBytes(values)),
  };
}

// Same hour yesterday (the last 24 h repeated), zero-padded: the forecast while history is short.
export function naiveDay(values: Float32Array, horizon: number): Float32Array {
  const last = values.slice(Math.max(0, values.length - 24));
  return Float32Array.from({ length: horizon }, (_, i) => (last.length === 24 ? last[i % 24] : 0));
}

// Runs the model a card describes over the next day's hours.
export function predictDay(card: ModelCard, values: Float32Array, slots: HourSlot[], madeOn: string, day: string): ForecastDoc {
  if (sha256(valuesToBytes(values)) !== card.sha256) {
    throw new ChatcastError('STATE', `train/values.bin does not match train/model.json (sha256 differs): rerun "chatcast train --date ${madeOn}"`);
  }
  let predicted: Float32Array;
  if (card.method === 'knn') {
    const model = fitKnn(values, card.params);
    try {
      predicted = predictKnn(model, slots.length);
    } finally {
      disposeKnn(model);
    }
  } else {
    predicted = naiveDay(values, slots.length);
  }
  const hours = slots.map((slot, i) => ({ ...slot, value: round(Math.max(0, predicted[i])) }));
  const peak = hours.reduce((best, h) => (h.value > best.value ? h : best), hours[0]);
  return {
    day,
    made_on: madeOn,
    timezone: card.timezone,
    method: card.method,
    model: card.model,
    params: card.params,
    data: { through: card.trained_through, hours: card.hours, sha256: card.sha256 },
    total: round(hours.reduce((s, h) => s + h.value, 0)),
    peak: { local: peak.local, value: peak.value },
    hours,
  };
}

// Four decimals: float32 noise stays out of the files, so reruns give the same bytes.
export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

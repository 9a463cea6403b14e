import { createHash } from 'node:crypto';
import type { HourSlot } from './dates.js';
import { ChatcastError } from './errors.js';
import type { KnnParams } from './knn.js';
import { forecastOrigins, historyNeeded, type ModelSpec } from './models.js';

// What `train` leaves for `forecast`: the fitted model's description; its values sit in values.bin.
export interface ModelCard {
  params: KnnParams;
  method: KnnParams['model'] | 'naive_day' | 'zeros'; // a fallback while the history is too short
  reason?: string;
  trained_through: string; // the last chat day in the training data
  timezone: string;
  hours: number;
  first_hour: string;
  last_hour: string;
  day_starts: number[]; // indices of the hours where chat days begin: the direct KNN's candidate days
  sha256: string; // of values.bin: the exact data the model saw
}

// One forecast hour: the forecast distribution's median, mean and 80% band.
export interface ForecastHour extends HourSlot {
  median: number;
  mean: number;
  lo: number;
  hi: number;
}

// forecast/D.json: the hours of day D as forecast at the end of D-1, with where they came from.
export interface ForecastDoc {
  day: string;
  made_on: string;
  timezone: string;
  method: ModelCard['method'];
  params: KnnParams;
  data: { through: string; hours: number; sha256: string };
  total: number; // expected messages: the sum of the hourly means
  peak: { local: string; mean: number };
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

// The indices where a new chat day starts, from the series' day of each hour.
export function dayStarts(days: string[]): number[] {
  return days.flatMap((d, i) => (i === 0 || d !== days[i - 1] ? [i] : []));
}

// The model card `train` writes; picks a fallback while the history is too short for the model.
export function describeModel(values: Float32Array, starts: string[], days: string[], params: KnnParams, day: string, timezone: string): ModelCard {
  const anchors = dayStarts(days);
  const need = historyNeeded(params);
  const enough = values.length >= need && (params.model !== 'knn_direct' || anchors.some((s) => s >= params.window && s + 24 <= values.length));
  const method = enough ? params.model : values.length >= 24 ? 'naive_day' : 'zeros';
  return {
    params,
    method,
    ...(enough ? {} : { reason: `history of ${values.length} h is shorter than the ${need} h ${params.model} needs` }),
    trained_through: day,
    timezone,
    hours: values.length,
    first_hour: starts[0],
    last_hour: starts[starts.length - 1],
    day_starts: anchors,
    sha256: sha256(valuesToBytes(values)),
  };
}

// Runs the model a card describes over the next day's hours; nothing is ever below zero.
export function predictDay(card: ModelCard, values: Float32Array, slots: HourSlot[], madeOn: string, day: string): ForecastDoc {
  if (sha256(valuesToBytes(values)) !== card.sha256) {
    throw new ChatcastError('STATE', `train/values.bin does not match train/model.json (sha256 differs): rerun "chatcast train --date ${madeOn}"`);
  }
  const spec: ModelSpec = card.method === card.params.model ? card.params : { model: card.method as 'naive_day' | 'zeros' };
  const f = forecastOrigins(spec, values, [values.length], card.day_starts, slots.length);
  const hours = slots.map((slot, h) => {
    const median = round(Math.max(0, f.median[0][h]));
    const mean = round(Math.max(0, f.mean[0][h]));
    return { ...slot, median, mean, lo: Math.min(median, round(Math.max(0, f.lo[0][h]))), hi: Math.max(median, round(Math.max(0, f.hi[0][h]))) };
  });
  const peak = hours.reduce((best, h) => (h.mean > best.mean ? h : best), hours[0]);
  return {
    day,
    made_on: madeOn,
    timezone: card.timezone,
    method: card.method,
    params: card.params,
    data: { through: card.trained_through, hours: card.hours, sha256: card.sha256 },
    total: round(hours.reduce((s, h) => s + h.mean, 0)),
    peak: { local: peak.local, mean: peak.mean },
    hours,
  };
}

// Four decimals: float32 noise stays out of the files, so reruns give the same bytes.
export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

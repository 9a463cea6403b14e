import { createHash } from 'node:crypto';
import { z } from 'zod';
import { chatDays, type ClockHour } from './calendar.js';
import { choose, type Choice } from './choice.js';
import { addDays, dayHours, dayOf, type HourSlot } from './dates.js';
import { LEVELS, Q10, Q90 } from './distribution.js';
import { ChatcastError } from './errors.js';
import { forecastTargets, historyNeeded, type ModelSpec } from './models.js';
import type { TrainParams } from './params.js';


// A forecaster as the card and the forecast record it: an object naming its model (train made it).
const named = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as { model?: unknown }).model === 'string';
const modelSpec = z.custom<ModelSpec>(named, 'expected a model specification with a "model" name');
const trainParams = z.custom<TrainParams>(named, "expected params.yaml's train section");

// What the per-chat choice compared, and each candidate's score there.
const choiceSchema = z.object({
  chosen: z.string(),
  compared: z.object({ first: z.string(), last: z.string(), days: z.number() }).nullable(),
  scores: z.record(z.string(), z.number().nullable()),
});

// train/model.json: what `train` leaves for `forecast`. The training data is the hourly series through
// `trained_through` (aggregate/hourly), pinned by its hash.
export const modelCardSchema = z.object({
  params: trainParams, // params.yaml's train section as it was
  model: z.object({ name: z.string(), spec: modelSpec }), // the forecaster `forecast` runs
  choice: choiceSchema.optional(), // train.model auto: what the choice compared
  reason: z.string().optional(), // why a fallback runs instead
  trained_through: z.string(), // the last chat day in the training data
  timezone: z.string(),
  hours: z.number().int().nonnegative(),
  first_hour: z.string(),
  last_hour: z.string(),
  sha256: z.string(), // of the training hours as little-endian float32: the exact data the model saw
});
export type ModelCard = z.infer<typeof modelCardSchema>;

// One forecast hour: the point to publish for sMAPE, the median (MAE), the mean (RMSE), the 80% band
// (the 10% and 90% quantiles), P(no message) and every quantile at `levels`.
const forecastHourSchema = z.object({
  start: z.string(),
  local: z.string(),
  offset: z.string(),
  point: z.number(),
  median: z.number(),
  mean: z.number(),
  lo: z.number(),
  hi: z.number(),
  p0: z.number().nullable(), // null in a forecast made before chatcast kept whole distributions
  quantiles: z.array(z.number()), // empty in those
});
export type ForecastHour = z.infer<typeof forecastHourSchema>;

// forecast/D.json: the hours of day D as forecast at the end of D-1, with where they came from.
export const forecastDocSchema = z.object({
  day: z.string(),
  made_on: z.string(),
  timezone: z.string(),
  method: z.string(), // the family of the forecaster that ran (knn_direct, profile, naive_day, …)
  model: z.object({ name: z.string(), spec: modelSpec }),
  choice: choiceSchema.optional(),
  params: trainParams, // params.yaml's train section when the model was trained
  data: z.object({ through: z.string(), hours: z.number(), sha256: z.string() }),
  levels: z.array(z.number()),
  total: z.number(), // expected messages: the sum of the hourly means
  total_range: z.tuple([z.number(), z.number()]).nullable(), // the 80% range of the day's total
  peak: z.object({ local: z.string(), mean: z.number() }),
  hours: z.array(forecastHourSchema),
});
export type ForecastDoc = z.infer<typeof forecastDocSchema>;

// A forecast file written before forecasts kept whole distributions (median, mean and band only),
// read as the same document: its point is the median it published, and what it lacked stays empty.
const legacyForecastSchema = z
  .object({
    day: z.string(),
    made_on: z.string(),
    timezone: z.string(),
    method: z.string(),
    params: trainParams,
    data: z.object({ through: z.string(), hours: z.number(), sha256: z.string() }),
    total: z.number(),
    peak: z.object({ local: z.string(), mean: z.number() }),
    hours: z.array(z.object({ start: z.string(), local: z.string(), offset: z.string(), median: z.number(), mean: z.number(), lo: z.number(), hi: z.number() })),
  })
  .transform((doc): ForecastDoc => ({
    ...doc,
    model: { name: doc.method, spec: doc.params as ModelSpec },
    levels: [],
    total_range: null,
    hours: doc.hours.map((h) => ({ ...h, point: h.median, p0: null, quantiles: [] })),
  }));

// Reads forecast/D.json of this version or the one before.
export function parseForecastDoc(raw: unknown): ForecastDoc {
  return 'levels' in (raw as object) ? forecastDocSchema.parse(raw) : legacyForecastSchema.parse(raw);
}

// Identifies training data by content, so a forecast names the data version it came from.
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// Little-endian float32: the bytes the card's sha256 is taken of.
export function valuesToBytes(values: Float32Array): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return new Uint8Array(view.buffer);
}

// The UTC starts of a gap-free series of `hours` slots that begins at `first`: the chat days' own
// slots, so a 30-minute slot (a half-hour clock change) or a skipped date is where it really was.
function hourStarts(first: string, hours: number, zone: string): string[] {
  const out: string[] = [];
  const t0 = Date.parse(first);
  for (let day = dayOf(t0, zone); out.length < hours; day = addDays(day, 1)) {
    for (const slot of dayHours(day, zone)) if (Date.parse(slot.start) >= t0 && out.length < hours) out.push(slot.start);
  }
  return out;
}

// The model card `train` writes. With train.model auto it runs the per-chat choice for the day after
// `day`; a fixed model is used as it is. While the history is too short for the model, the card
// names the fallback ("same hour yesterday", or zeros on the very first day) and why.
export function describeModel(values: Float32Array, starts: string[], params: TrainParams, day: string, timezone: string): ModelCard {
  const days = chatDays(starts, timezone);
  // The day the model is chosen for: the next one with hours (a skipped date has none to forecast).
  let next = addDays(day, 1);
  while (dayHours(next, timezone).length === 0) next = addDays(next, 1);
  const target = { day: next, end: values.length, hours: dayHours(next, timezone) as ClockHour[] };
  let model: { name: string; spec: ModelSpec };
  let choice: Choice | undefined;
  let reason: string | undefined;
  if (params.model === 'auto') {
    choice = choose(values, days, [target], params)[0];
    model = { name: choice.chosen, spec: choice.spec };
    if (choice.compared === null) reason = `history of ${days.length} days is too short to compare models: ${choice.chosen} runs`;
  } else if (values.length >= historyNeeded(params)) {
    model = { name: params.model, spec: params };
  } else {
    const fallback: ModelSpec = values.length >= 24 ? { model: 'naive_day' } : { model: 'zeros' };
    model = { name: fallback.model, spec: fallback };
    reason = `history of ${values.length} h is shorter than the ${historyNeeded(params)} h ${params.model} needs`;
  }
  return {
    params,
    model,
    ...(choice ? { choice: { chosen: choice.chosen, compared: choice.compared, scores: choice.scores } } : {}),
    ...(reason ? { reason } : {}),
    trained_through: day,
    timezone,
    hours: values.length,
    first_hour: starts[0],
    last_hour: starts[starts.length - 1],
    sha256: sha256(valuesToBytes(values)),
  };
}

// Runs the model a card names over the next day's hours (23, 24 or 25: each taken from the analogue
// days by clock hour); nothing is ever below zero.
export function predictDay(card: ModelCard, values: Float32Array, slots: HourSlot[], madeOn: string, day: string): ForecastDoc {
  if (sha256(valuesToBytes(values)) !== card.sha256) {
    throw new ChatcastError(
      'STATE',
      `The hourly series through ${card.trained_through} (${values.length} hours in aggregate/hourly) is not the one train/model.json was trained on (${card.hours} hours, sha256 ${card.sha256.slice(0, 12)}…): rerun "chatcast train --date ${madeOn}"`,
    );
  }
  if (slots.length === 0) return emptyDay(card, madeOn, day);
  const days = chatDays(hourStarts(card.first_hour, card.hours, card.timezone), card.timezone);
  const [f] = forecastTargets(card.model.spec, values, days, [{ day, end: values.length, hours: slots }]);
  const L = LEVELS.length;
  const hours = slots.map((slot, h) => {
    const quantiles = Array.from(f.q.subarray(h * L, (h + 1) * L), (v) => round(Math.max(0, v)));
    return {
      ...slot,
      point: round(Math.max(0, f.point[h])),
      median: round(Math.max(0, f.median[h])),
      mean: round(Math.max(0, f.mean[h])),
      lo: quantiles[Q10],
      hi: quantiles[Q90],
      p0: round(f.p0[h]),
      quantiles,
    };
  });
  const peak = hours.reduce((best, h) => (h.mean > best.mean ? h : best), hours[0]);
  return {
    ...provenance(card, madeOn, day),
    total: round(hours.reduce((s, h) => s + h.mean, 0)),
    total_range: [round(Math.max(0, f.total.lo)), round(Math.max(0, f.total.hi))],
    peak: { local: peak.local, mean: peak.mean },
    hours,
  };
}

// What every forecast document says about where it came from: the day, the model, the data version.
function provenance(card: ModelCard, madeOn: string, day: string) {
  return {
    day,
    made_on: madeOn,
    timezone: card.timezone,
    method: card.model.spec.model,
    model: card.model,
    ...(card.choice ? { choice: card.choice } : {}),
    params: card.params,
    data: { through: card.trained_through, hours: card.hours, sha256: card.sha256 },
    levels: LEVELS,
  };
}

// The forecast for a date the zone skipped (Pacific/Apia 2011-12-30): no hours, nothing expected.
function emptyDay(card: ModelCard, madeOn: string, day: string): ForecastDoc {
  return { ...provenance(card, madeOn, day), total: 0, total_range: [0, 0], peak: { local: '', mean: 0 }, hours: [] };
}

// Four decimals: float noise stays out of the files, so reruns give the same bytes.
export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

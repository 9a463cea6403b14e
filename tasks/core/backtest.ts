import { chatDays, type ChatDay } from './calendar.js';
import { autoForecast, type AutoParams, type Choice } from './choice.js';
import { dayHours } from './dates.js';
import { Q10, Q50, Q90, LEVELS, type DayForecast } from './distribution.js';
import { ChatcastError } from './errors.js';
import { calibrationCounts, scoreDistribution, type FullScores } from './metrics.js';
import { forecastTargets, historyNeeded, type ModelSpec, type Target } from './models.js';

const HOUR_MS = 3_600_000;

// A model as the backtest runs it: a fixed forecaster, or the per-chat choice that `train` makes.
export type BacktestSpec = ModelSpec | AutoParams;

// A model's scores over all origins (the mean of the per-origin scores), its calibration for counts
// (per τ: the share of hours below q_τ and at or below it) and its wall-clock time.
export interface ModelResult extends FullScores {
  rmse_pooled: number; // one RMSE over every hour of every origin: the score the mean is optimal for
  calibration: Record<string, [number, number]>;
  seconds: number;
  chosen?: Record<string, number>; // for the per-chat choice: how many origins pooled each candidate
}

// What `chatcast backtest --json` prints.
export interface BacktestResult {
  days: number;
  timezone: string;
  origins: string[];
  models: Record<string, ModelResult>;
}

// An hourly series as values and the UTC instants of their hours.
export interface HourlySeries {
  values: Float32Array;
  starts: string[];
}

// Reads the text of chatcast's hourly series (aggregate/hourly's months joined) or the original system's all_messages_cnt.csv
// (datetime, txt_cnt); the hours must follow each other without a gap. Hours may start at any minute
// (a chat in UTC+05:30 has its hours at :30 UTC), as long as each is one hour after the one before.
export function parseHourlySeries(content: string, file: string): HourlySeries {
  const lines = content.replace(/\r/g, '').split('\n').filter((l) => l.length > 0);
  const header = lines[0] ?? '';
  const original = header === 'datetime\ttxt_cnt';
  if (!original && header !== 'start\tday\tlocal\toffset\tmessages') {
    throw new ChatcastError('INPUT', `Invalid ${file} line 1: header "${header}": expected "datetime\\ttxt_cnt" (the original) or chatcast's "start\\tday\\tlocal\\toffset\\tmessages"`);
  }
  const values = new Float32Array(lines.length - 1);
  const starts: string[] = [];
  let previous = Number.NaN;
  lines.slice(1).forEach((line, i) => {
    const cells = line.split('\t');
    const [when, count] = original ? [cells[0], cells[1]] : [cells[0], cells[4]];
    const ms = Date.parse(original ? when.replace(' ', 'T') : when);
    if (!Number.isFinite(ms) || ms % 60_000 !== 0) {
      throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: hour "${when}": expected the start of an hour, such as ${original ? '2023-01-01 13:00:00+00:00' : '2023-01-01T13:00:00Z'}`);
    }
    if (!/^\d+$/.test(count ?? '')) throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: count "${count}": expected a whole number`);
    // Consecutive slots are an hour apart, or half an hour where a zone moved its clock by 30 minutes.
    const step = ms - previous;
    if (i > 0 && (step <= 0 || step > HOUR_MS || step % (30 * 60_000) !== 0)) {
      throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: hour "${when}" does not follow ${starts[i - 1]}: expected consecutive hours`);
    }
    previous = ms;
    values[i] = Number(count);
    starts.push(new Date(ms).toISOString().replace('.000Z', 'Z'));
  });
  return { values, starts };
}

// The series' chat days in `zone`, with the zone's clock for every hour.
export function seriesDays(series: HourlySeries, zone: string): ChatDay[] {
  return chatDays(series.starts, zone);
}

// The last `days` chat days (in `zone`) that the series holds whole, after its first day: their
// midnights are the origins, and each origin forecasts that day's own hours (23, 24 or 25).
export function originsOf(series: HourlySeries, zone: string, days: number): { index: number; day: string; hours: number }[] {
  const all = seriesDays(series, zone)
    .slice(1)
    .filter((d) => d.hours.length === dayHours(d.day, zone).length)
    .map((d) => ({ index: d.start, day: d.day, hours: d.hours.length }));
  if (all.length < days) throw new ChatcastError('USAGE', `Invalid --days ${days}: the series has only ${all.length} complete days after its first`);
  return all.slice(all.length - days);
}

// The forecast days of a backtest: each origin's day with its own clock hours.
function targetsOf(days: ChatDay[], origins: { index: number }[]): Target[] {
  const byStart = new Map(days.map((d) => [d.start, d]));
  return origins.map((o) => {
    const d = byStart.get(o.index)!;
    return { day: d.day, end: d.start, hours: d.hours };
  });
}

// Runs one model (fixed, or the per-chat choice) over the targets.
export function forecastWith(spec: BacktestSpec, values: ArrayLike<number>, days: ChatDay[], targets: Target[]): { forecasts: DayForecast[]; choices?: Choice[] } {
  return spec.model === 'auto' ? autoForecast(values, days, targets, spec) : { forecasts: forecastTargets(spec, values, days, targets) };
}

// The published numbers of a forecast day, as the scores take them.
export function published(f: DayForecast) {
  const L = LEVELS.length;
  const at = (l: number) => Float64Array.from(f.mean, (_, h) => f.q[h * L + l]);
  return { point: f.point, median: f.median, mean: f.mean, lo: at(Q10), hi: at(Q90), q50: at(Q50) };
}

// Rolling-origin backtest: every model forecasts each origin's day from the hours before it (batched),
// then each origin is scored and the scores are averaged. `onModel` reports progress.
export function backtest(
  series: HourlySeries,
  zone: string,
  days: number,
  models: { name: string; spec: BacktestSpec }[],
  onModel: (name: string) => void = () => {},
): BacktestResult {
  const origins = originsOf(series, zone, days);
  const chat = seriesDays(series, zone);
  const targets = targetsOf(chat, origins);
  // MASE's scale per origin from running sums of |y[t] - y[t-24]|.
  const running = new Float64Array(series.values.length + 1);
  for (let t = 0; t < series.values.length; t++) running[t + 1] = running[t] + (t >= 24 ? Math.abs(series.values[t] - series.values[t - 24]) : 0);
  const scale = origins.map((o) => running[o.index] / (o.index - 24));
  const result: BacktestResult = { days, timezone: zone, origins: origins.map((o) => o.day), models: {} };
  for (const { name, spec } of models) {
    const need = spec.model === 'auto' ? 0 : historyNeeded(spec);
    if (origins[0].index < need) {
      throw new ChatcastError('USAGE', `Invalid --days ${days}: model ${name} needs ${need} hours before the first origin (${origins[0].day}); use fewer days`);
    }
    const started = performance.now();
    const { forecasts, choices } = forecastWith(spec, series.values, chat, targets);
    const seconds = (performance.now() - started) / 1000;
    result.models[name] = scoreAll(series.values, origins, forecasts, scale, seconds, choices);
    onModel(name);
  }
  return result;
}

// How many origins pooled each candidate.
function memberCounts(choices: Choice[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of choices) for (const name of c.chosen.split('+')) counts[name] = (counts[name] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

// Mean per-origin scores, pooled calibration counts, and what the choice picked.
export function scoreAll(values: ArrayLike<number>, origins: { index: number; hours: number }[], forecasts: DayForecast[], scale: number[], seconds: number, choices?: Choice[]): ModelResult {
  const sums = { smape: 0, mae: 0, rmse: 0, mase: 0, pinball: 0, coverage80: 0 };
  const levels = { '0.1': Q10, '0.5': Q50, '0.9': Q90 };
  const counts = Object.fromEntries(Object.keys(levels).map((k) => [k, [0, 0]])) as Record<string, [number, number]>;
  let hours = 0;
  let squares = 0;
  origins.forEach((o, i) => {
    const actual = Array.from({ length: o.hours }, (_, h) => values[o.index + h]);
    const p = published(forecasts[i]);
    actual.forEach((y, h) => (squares += (y - p.mean[h]) ** 2));
    const s = scoreDistribution(actual, p, scale[i]);
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += s[key];
    for (const [tau, l] of Object.entries(levels)) {
      const c = calibrationCounts(actual, Float64Array.from(actual, (_, h) => forecasts[i].q[h * LEVELS.length + l]));
      counts[tau][0] += c.below;
      counts[tau][1] += c.atOrBelow;
    }
    hours += o.hours;
  });
  const mean = (v: number) => Math.round((v / origins.length) * 1e6) / 1e6;
  const share = (v: number) => Math.round((v / hours) * 1e4) / 1e4;
  return {
    smape: mean(sums.smape),
    mae: mean(sums.mae),
    rmse: mean(sums.rmse),
    rmse_pooled: Math.round(Math.sqrt(squares / hours) * 1e6) / 1e6,
    mase: mean(sums.mase),
    pinball: mean(sums.pinball),
    coverage80: mean(sums.coverage80),
    calibration: Object.fromEntries(Object.entries(counts).map(([tau, [b, a]]) => [tau, [share(b), share(a)]])),
    seconds: Math.round(seconds * 1000) / 1000,
    ...(choices ? { chosen: memberCounts(choices) } : {}),
  };
}

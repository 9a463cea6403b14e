import { dayOf } from './dates.js';
import { ChatcastError } from './errors.js';
import { scoreDistribution, type FullScores } from './metrics.js';
import { forecastOrigins, historyNeeded, type ModelSpec } from './models.js';
import { dayStarts } from './forecast.js';

const HOUR_MS = 3_600_000;
const HORIZON = 24;

// A model's scores over all origins (the mean of the per-origin scores) and its wall-clock time.
export interface ModelResult extends FullScores {
  seconds: number;
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

// Reads the project's aggregate/hourly.tsv or the original system's all_messages_cnt.csv
// (datetime, txt_cnt); the hours must follow each other without a gap.
export function parseHourlySeries(content: string, file: string): HourlySeries {
  const lines = content.replace(/\r/g, '').split('\n').filter((l) => l.length > 0);
  const header = lines[0] ?? '';
  const original = header === 'datetime\ttxt_cnt';
  if (!original && header !== 'start\tday\tlocal\toffset\tmessages') {
    throw new ChatcastError('INPUT', `Invalid ${file} line 1: header "${header}": expected "datetime\\ttxt_cnt" (the original) or chatcast's "start\\tday\\tlocal\\toffset\\tmessages"`);
  }
  const values = new Float32Array(lines.length - 1);
  const starts: string[] = [];
  lines.slice(1).forEach((line, i) => {
    const cells = line.split('\t');
    const [when, count] = original ? [cells[0], cells[1]] : [cells[0], cells[4]];
    const ms = Date.parse(original ? when.replace(' ', 'T') : when);
    if (!Number.isFinite(ms) || ms % HOUR_MS !== 0) {
      throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: hour "${when}": expected the start of an hour, such as ${original ? '2023-01-01 13:00:00+00:00' : '2023-01-01T13:00:00Z'}`);
    }
    if (!/^\d+$/.test(count ?? '')) throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: count "${count}": expected a whole number`);
    if (i > 0 && ms - Date.parse(starts[i - 1]) !== HOUR_MS) {
      throw new ChatcastError('INPUT', `Invalid ${file} line ${i + 2}: hour "${when}" does not follow ${starts[i - 1]}: expected consecutive hours`);
    }
    values[i] = Number(count);
    starts.push(new Date(ms).toISOString().replace('.000Z', 'Z'));
  });
  return { values, starts };
}

// The last `days` chat days (in `zone`) with 24 hours of data after their midnight: their midnights
// are the origins. Each origin's forecast may use only the hours before it.
export function originsOf(series: HourlySeries, zone: string, days: number): { index: number; day: string }[] {
  const dayOfHour = series.starts.map((s) => dayOf(Date.parse(s), zone));
  const all = dayStarts(dayOfHour)
    .filter((i) => i > 0 && i + HORIZON <= series.values.length)
    .map((index) => ({ index, day: dayOfHour[index] }));
  if (all.length < days) throw new ChatcastError('USAGE', `Invalid --days ${days}: the series has only ${all.length} complete days after its first`);
  return all.slice(all.length - days);
}

// Rolling-origin backtest: every model forecasts 24 h from every origin in one batched call, then
// each origin is scored and the scores are averaged. `onModel` reports progress.
export function backtest(
  series: HourlySeries,
  zone: string,
  days: number,
  models: { name: string; spec: ModelSpec }[],
  onModel: (name: string) => void = () => {},
): BacktestResult {
  const origins = originsOf(series, zone, days);
  const index = origins.map((o) => o.index);
  const anchors = dayStarts(series.starts.map((s) => dayOf(Date.parse(s), zone)));
  // MASE's scale per origin from running sums of |y[t] - y[t-24]|.
  const running = new Float64Array(series.values.length + 1);
  for (let t = 0; t < series.values.length; t++) running[t + 1] = running[t] + (t >= 24 ? Math.abs(series.values[t] - series.values[t - 24]) : 0);
  const scale = index.map((o) => running[o] / (o - 24));
  const result: BacktestResult = { days, timezone: zone, origins: origins.map((o) => o.day), models: {} };
  for (const { name, spec } of models) {
    if (index[0] < historyNeeded(spec)) {
      throw new ChatcastError('USAGE', `Invalid --days ${days}: model ${name} needs ${historyNeeded(spec)} hours before the first origin (${origins[0].day}); use fewer days`);
    }
    const started = performance.now();
    const f = forecastOrigins(spec, series.values, index, anchors, HORIZON);
    const seconds = (performance.now() - started) / 1000;
    const sums = { smape: 0, mae: 0, rmse: 0, mase: 0, pinball: 0, coverage80: 0 };
    index.forEach((o, i) => {
      const actual = series.values.subarray(o, o + HORIZON);
      const clamp = (a: Float32Array) => a.map((v) => Math.max(0, v));
      const s = scoreDistribution(actual, { median: clamp(f.median[i]), mean: clamp(f.mean[i]), lo: clamp(f.lo[i]), hi: clamp(f.hi[i]) }, scale[i]);
      for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += s[key];
    });
    const mean = (v: number) => Math.round((v / index.length) * 1e6) / 1e6;
    result.models[name] = {
      smape: mean(sums.smape),
      mae: mean(sums.mae),
      rmse: mean(sums.rmse),
      mase: mean(sums.mase),
      pinball: mean(sums.pinball),
      coverage80: mean(sums.coverage80),
      seconds: Math.round(seconds * 1000) / 1000,
    };
    onModel(name);
  }
  return result;
}

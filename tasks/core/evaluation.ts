import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { ChatcastError } from './errors.js';
import type { ForecastDoc } from './forecast.js';
import { round } from './forecast.js';
import { clockMap } from './calendar.js';
import { score, scoreDistribution } from './metrics.js';
import { formatTsv, parseTsv } from './tsv.js';
import type { SeriesRow } from './series.js';

// evaluate/metrics.json and one row of evaluate/history.tsv: the day's score, or why there is none.
export interface Evaluation {
  day: string;
  status: 'scored' | 'skipped';
  reason: string;
  smape: number | null;
  mae: number | null;
  rmse: number | null;
  mase: number | null;
  pinball: number | null;
  coverage80: number | null;
  actual_total: number;
  forecast_total: number | null;
  // The same scores for the naive forecast "same hour yesterday" (the value 24 h earlier): the bar to beat.
  naive_smape: number | null;
  naive_mae: number | null;
  naive_rmse: number | null;
}

const HISTORY_COLUMNS = [
  'day',
  'status',
  'smape',
  'mae',
  'rmse',
  'mase',
  'pinball',
  'coverage80',
  'naive_smape',
  'naive_mae',
  'naive_rmse',
  'actual_total',
  'forecast_total',
  'reason',
] as const;
const HOUR_MS = 3_600_000;

// The naive forecast "same hour yesterday": for each hour of a day, yesterday's count at the same
// clock hour (the repeated autumn hour by its offset); where yesterday had no such hour (the spring
// gap), the count 24 hours earlier, looked up in `earlier` by start instant.
export function sameHourYesterday(today: SeriesRow[], yesterday: SeriesRow[], earlier: Map<string, number> = new Map()): (number | undefined)[] {
  if (yesterday.length === 0) return today.map(() => undefined);
  const map = clockMap(today, yesterday);
  return today.map((r, h) => (map[h] >= 0 ? yesterday[map[h]].messages : earlier.get(new Date(Date.parse(r.start) - 24 * HOUR_MS).toISOString().replace('.000Z', 'Z'))));
}

// Scores the forecast made for a day against the hours it actually had, matched by UTC hour, and
// the naive forecast "same hour yesterday" from `yesterday`'s rows alongside. `scale` is MASE's
// denominator: the in-sample error of "same hour yesterday" on the history before the day.
export function evaluateDay(
  day: string,
  actual: SeriesRow[],
  forecast: ForecastDoc | undefined,
  yesterday: SeriesRow[] = [],
  scale = Number.NaN,
): Evaluation {
  if (actual.length === 0) {
    return { day, status: 'skipped', reason: `${day} has no hours in the chat's time zone (the clocks skipped that date)`, smape: null, mae: null, rmse: null, mase: null, pinball: null, coverage80: null, naive_smape: null, naive_mae: null, naive_rmse: null, actual_total: 0, forecast_total: forecast?.total ?? null };
  }
  const actualTotal = actual.reduce((s, r) => s + r.messages, 0);
  const earlier = new Map([...yesterday, ...actual].map((r) => [r.start, r.messages]));
  const naiveValues = sameHourYesterday(actual, yesterday, earlier);
  const naive = naiveValues.every((v) => v !== undefined) ? score(actual.map((r) => r.messages), naiveValues as number[]) : undefined;
  const naiveScores = {
    naive_smape: naive ? round(naive.smape, 6) : null,
    naive_mae: naive ? round(naive.mae, 6) : null,
    naive_rmse: naive ? round(naive.rmse, 6) : null,
  };
  if (!forecast) {
    return { day, status: 'skipped', reason: `no forecast was made for ${day}`, smape: null, mae: null, rmse: null, mase: null, pinball: null, coverage80: null, ...naiveScores, actual_total: actualTotal, forecast_total: null };
  }
  const byStart = new Map(forecast.hours.map((h) => [h.start, h]));
  const predicted = actual.map((r) => {
    const hour = byStart.get(r.start);
    if (hour === undefined) {
      throw new ChatcastError('STATE', `forecast/${day}.json has no value for the hour starting ${r.start}: it does not cover ${day}`);
    }
    return hour;
  });
  const s = scoreDistribution(
    actual.map((r) => r.messages),
    { point: predicted.map((h) => h.point), median: predicted.map((h) => h.median), mean: predicted.map((h) => h.mean), lo: predicted.map((h) => h.lo), hi: predicted.map((h) => h.hi) },
    scale,
  );
  return {
    day,
    status: 'scored',
    reason: '',
    smape: round(s.smape, 6),
    mae: round(s.mae, 6),
    rmse: round(s.rmse, 6),
    mase: Number.isFinite(s.mase) ? round(s.mase, 6) : null,
    pinball: round(s.pinball, 6),
    coverage80: round(s.coverage80, 6),
    ...naiveScores,
    actual_total: actualTotal,
    forecast_total: forecast.total,
  };
}

// Adds a day's evaluation to the history, replacing an earlier one for the same day.
export function upsertHistory(history: ColumnTable | undefined, evaluation: Evaluation): ColumnTable {
  const row = aq.from([Object.fromEntries(HISTORY_COLUMNS.map((c) => [c, evaluation[c]]))]);
  if (!history) return row;
  return history
    .params({ day: evaluation.day })
    .filter((d: { day: string }, $: { day: string }) => d.day !== $.day)
    .concat(row)
    .orderby('day');
}

// The history file: one row per evaluated day, TSV so `dvc plots` can draw it.
export function formatHistory(history: ColumnTable): string {
  return formatTsv(history, HISTORY_COLUMNS);
}

// Reads evaluate/history.tsv; empty cells are skipped scores.
export function parseHistory(content: string, file: string): ColumnTable {
  const num = (v: string) => (v === '' ? null : Number(v));
  return parseTsv(content, file, HISTORY_COLUMNS, {
    smape: num,
    mae: num,
    rmse: num,
    mase: num,
    pinball: num,
    coverage80: num,
    naive_smape: num,
    naive_mae: num,
    naive_rmse: num,
    actual_total: num,
    forecast_total: num,
  });
}

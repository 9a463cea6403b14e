import type { ChatDay } from './calendar.js';
import { LEVELS, Q10, Q90, type DayForecast } from './distribution.js';
import { quantileLoss, scoreDistribution } from './metrics.js';
import type { DirectKnnParams } from './knn.js';
import { forecastTargets, historyNeeded, type ModelSpec, type ProfileParams, type Target } from './models.js';

// train.model "auto": the model is chosen per chat, every day, from the chat's own recent past.
export interface AutoParams {
  model: 'auto';
  select_days: number; // the days before the forecast day on which the candidates are compared
  pool: number; // how many of the best candidates are pooled into the forecast
}

// One forecaster the per-chat choice may pick.
export interface Candidate {
  name: string;
  spec: ModelSpec;
}

// The candidates: direct KNNs over a grid of window, k, transform, level and jitter; recency-weighted
// profiles of the recent days; and the baselines as the distributions of their analogue days. When
// nothing can be compared yet (a new chat), the first one that can forecast is used.
const knn = (window: number, k: number, level: boolean, jitter: number): ModelSpec => ({ model: 'knn_direct', k, window, transform: 'log1p', level, jitter });
const profile = (days: number, halflife: number, weekday: number, level: boolean, jitter: number): ModelSpec => ({ model: 'profile', days, halflife, weekday, level, jitter });
export const CANDIDATES: Candidate[] = [
  { name: 'knn_168h_50', spec: knn(168, 50, false, 1) },
  { name: 'knn_168h_91', spec: knn(168, 91, false, 1) },
  { name: 'knn_168h_50_wide', spec: knn(168, 50, false, 2) },
  { name: 'knn_72h_91', spec: knn(72, 91, false, 1) },
  { name: 'knn_24h_91', spec: knn(24, 91, false, 1) },
  { name: 'knn_168h_20_level', spec: knn(168, 20, true, 1) },
  { name: 'knn_168h_20_level_exact', spec: knn(168, 20, true, 0) },
  { name: 'profile_28d', spec: profile(56, 28, 1, false, 1) },
  { name: 'profile_weekday_56d_level', spec: profile(112, 56, 0, true, 1) },
  { name: 'knn_168h_50_raw', spec: { model: 'knn_direct', k: 50, window: 168, transform: 'none', level: false, jitter: 1 } },
  // The baselines as distributions: naive_day, naive_week, and the samples of median_7d and mean_14d.
  { name: 'yesterday', spec: profile(1, 1, 1, false, 0) },
  { name: 'same_day_last_week', spec: profile(7, 3660, 0, false, 0) },
  { name: 'last_7_days', spec: profile(7, 3660, 1, false, 0) },
  { name: 'last_14_days', spec: profile(14, 3660, 1, false, 0) },
];

// The scores the choice weighs, each divided by the candidates' average on the same days and summed:
// the published numbers all come from the chosen distribution, so it must be good for each of them.
const CRITERIA = ['crps', 'smape', 'mae', 'rmse', 'pinball'] as const;

// What the choice saw for one forecast day: the days compared, each candidate's mean quantile loss
// on them (null when it could not forecast them all), and the winner.
export interface Choice {
  chosen: string;
  spec: ModelSpec;
  compared: { first: string; last: string; days: number } | null;
  scores: Record<string, number | null>;
}

// The days that ended before a target (its history's end), as a count of `days`.
function daysBefore(days: ChatDay[], end: number): number {
  let n = 0;
  while (n < days.length && days[n].start + days[n].hours.length <= end) n++;
  return n;
}

// Chooses, for each target, the candidate with the least mean quantile loss (the CRPS of its whole
// predictive distribution) over the `select_days` days before it, each of those days forecast from
// the history before that day. The same function serves `train` (one target: tomorrow) and the
// backtest (hundreds of targets, each choosing only from its own past).
export function choose(values: ArrayLike<number>, days: ChatDay[], targets: Target[], params: AutoParams, candidates: Candidate[] = CANDIDATES): Choice[] {
  const windows = targets.map((t) => {
    const before = daysBefore(days, t.end);
    return { from: Math.max(1, before - params.select_days), to: before };
  });
  const needed = new Set<number>();
  windows.forEach((w) => {
    for (let d = w.from; d < w.to; d++) needed.add(d);
  });
  const selectionDays = [...needed].sort((a, b) => a - b);
  // Each candidate's scores on every day some target compares on (NaN where it cannot forecast the day).
  const L = LEVELS.length;
  const losses = candidates.map(({ spec }) => {
    const loss = Object.fromEntries(CRITERIA.map((c) => [c, new Float64Array(days.length).fill(Number.NaN)])) as Record<(typeof CRITERIA)[number], Float64Array>;
    const doable = selectionDays.filter((d) => days[d].start >= historyNeeded(spec));
    if (doable.length === 0) return loss;
    const forecasts = forecastTargets(spec, values, days, doable.map((d) => ({ day: days[d].day, end: days[d].start, hours: days[d].hours })));
    doable.forEach((d, i) => {
      const f = forecasts[i];
      const actual = Array.from(days[d].hours, (_, h) => values[days[d].start + h]);
      const at = (l: number) => Float64Array.from(actual, (_, h) => f.q[h * L + l]);
      const s = scoreDistribution(actual, { point: f.point, median: f.median, mean: f.mean, lo: at(Q10), hi: at(Q90) }, 1);
      loss.crps[d] = quantileLoss(actual, f.q, LEVELS);
      loss.smape[d] = s.smape;
      loss.mae[d] = s.mae;
      loss.rmse[d] = s.rmse;
      loss.pinball[d] = s.pinball;
    });
    return loss;
  });
  return targets.map((t, i) => {
    const { from, to } = windows[i];
    const able = candidates.map((c, ci) => {
      if (to <= from || t.end < historyNeeded(c.spec)) return false;
      for (let d = from; d < to; d++) if (!Number.isFinite(losses[ci].crps[d])) return false;
      return true;
    });
    const totals = CRITERIA.map((k) => candidates.map((_, ci) => (able[ci] ? losses[ci][k].subarray(from, to).reduce((a, b) => a + b, 0) : Number.NaN)));
    const typical = totals.map((row) => {
      const scored = row.filter(Number.isFinite);
      return scored.reduce((a, b) => a + b, 0) / Math.max(1, scored.length);
    });
    const scores: Record<string, number | null> = {};
    candidates.forEach((c, ci) => {
      // Each criterion relative to the candidates' average on it; one that every candidate scored 0
      // on (a silent window) says nothing and adds 1 to each.
      const score = able[ci] ? totals.reduce((sum, row, k) => sum + (typical[k] > 0 ? row[ci] / typical[k] : 1), 0) : null;
      scores[c.name] = score === null ? null : Math.round(score * 1e6) / 1e6;
    });
    // The best few, best first (ties: the earlier candidate).
    const ranked = candidates.map((_, ci) => ci).filter((ci) => scores[candidates[ci].name] !== null).sort((a, b) => scores[candidates[a].name]! - scores[candidates[b].name]! || a - b);
    const top = ranked.slice(0, Math.max(1, params.pool));
    let best = top.length ? top[0] : -1;
    if (best < 0) best = candidates.findIndex((c) => t.end >= historyNeeded(c.spec));
    if (best < 0) {
      // Too little history for any candidate: "same hour yesterday", or nothing at all on the first day.
      const fallback: ModelSpec = t.end >= historyNeeded({ model: 'naive_day' }) ? { model: 'naive_day' } : { model: 'zeros' };
      return { chosen: fallback.model, spec: fallback, compared: null, scores };
    }
    const compared = to > from ? { first: days[from].day, last: days[to - 1].day, days: to - from } : null;
    if (top.length > 1) {
      // The best few pooled: their analogue days together, each model an equal share.
      const members = top.map((ci) => ({ share: 1 / top.length, spec: candidates[ci].spec as DirectKnnParams | ProfileParams }));
      return { chosen: top.map((ci) => candidates[ci].name).join('+'), spec: { model: 'pool', members }, compared, scores };
    }
    return { chosen: candidates[best].name, spec: candidates[best].spec, compared, scores };
  });
}

// The per-chat choice and its forecasts: each target forecast by the candidate chosen for it
// (batched per candidate).
export function autoForecast(
  values: ArrayLike<number>,
  days: ChatDay[],
  targets: Target[],
  params: AutoParams,
  candidates: Candidate[] = CANDIDATES,
): { forecasts: DayForecast[]; choices: Choice[] } {
  const choices = choose(values, days, targets, params, candidates);
  const forecasts: DayForecast[] = new Array(targets.length);
  for (const name of new Set(choices.map((c) => c.chosen))) {
    const mine = targets.map((_, i) => i).filter((i) => choices[i].chosen === name);
    forecastTargets(choices[mine[0]].spec, values, days, mine.map((i) => targets[i])).forEach((f, j) => (forecasts[mine[j]] = f));
  }
  return { forecasts, choices };
}

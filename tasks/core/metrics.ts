import { ChatcastError } from './errors.js';

// sktime's denominator floor: float64 machine epsilon.
const EPS = 2 ** -52;

// The day's scores of a forecast against what happened.
export interface Scores {
  smape: number;
  mae: number;
  rmse: number;
}

function checkLengths(actual: ArrayLike<number>, predicted: ArrayLike<number>): void {
  if (actual.length !== predicted.length || actual.length === 0) {
    throw new ChatcastError(
      'STATE',
      `Cannot score ${predicted.length} forecast hours against ${actual.length} actual hours: expected the same, non-zero number`,
    );
  }
}

// sMAPE as sktime's MeanAbsolutePercentageError(symmetric=True): a fraction in [0, 2], 0 where both are 0.
export function smape(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkLengths(actual, predicted);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const denominator = Math.max(Math.abs(actual[i]) + Math.abs(predicted[i]), EPS) / 2;
    sum += Math.abs(actual[i] - predicted[i]) / denominator;
  }
  return sum / actual.length;
}

// Mean absolute error, in messages per hour.
export function mae(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkLengths(actual, predicted);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i] - predicted[i]);
  return sum / actual.length;
}

// Root mean squared error, in messages per hour: punishes missing a burst.
export function rmse(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkLengths(actual, predicted);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += (actual[i] - predicted[i]) ** 2;
  return Math.sqrt(sum / actual.length);
}

// All three scores at once, as evaluate records them.
export function score(actual: ArrayLike<number>, predicted: ArrayLike<number>): Scores {
  return { smape: smape(actual, predicted), mae: mae(actual, predicted), rmse: rmse(actual, predicted) };
}

// MASE: MAE divided by the in-sample MAE of "same hour yesterday" on the history before the forecast
// (sktime's mean_absolute_scaled_error with sp=24). Infinite when that history never changes.
export function mase(actual: ArrayLike<number>, predicted: ArrayLike<number>, history: ArrayLike<number>, season = 24): number {
  return mae(actual, predicted) / naiveScale(history, season);
}

// The mean absolute change between an hour and the same hour a season earlier.
export function naiveScale(history: ArrayLike<number>, season = 24): number {
  let sum = 0;
  for (let i = season; i < history.length; i++) sum += Math.abs(history[i] - history[i - season]);
  return history.length > season ? sum / (history.length - season) : Number.NaN;
}

// Quantile (pinball) loss of the band: the mean of the 10% loss of `lo` and the 90% loss of `hi`.
export function pinball(actual: ArrayLike<number>, lo: ArrayLike<number>, hi: ArrayLike<number>, levels: [number, number] = [0.1, 0.9]): number {
  checkLengths(actual, lo);
  checkLengths(actual, hi);
  const loss = (y: number, q: number, tau: number) => Math.max(tau * (y - q), (tau - 1) * (y - q));
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += (loss(actual[i], lo[i], levels[0]) + loss(actual[i], hi[i], levels[1])) / 2;
  return sum / actual.length;
}

// The share of hours whose actual count lies inside the band (ends included).
export function coverage(actual: ArrayLike<number>, lo: ArrayLike<number>, hi: ArrayLike<number>): number {
  checkLengths(actual, lo);
  checkLengths(actual, hi);
  let inside = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] >= lo[i] && actual[i] <= hi[i]) inside++;
  return inside / actual.length;
}

// Every score of a forecast distribution: sMAPE of the sMAPE-optimal point, MAE (and MASE) of the
// median, RMSE of the mean, pinball loss and coverage of the 10%–90% band.
export interface FullScores extends Scores {
  mase: number;
  pinball: number;
  coverage80: number;
}

// What each score is computed on, per hour.
export interface ScoredForecast {
  point: ArrayLike<number>;
  median: ArrayLike<number>;
  mean: ArrayLike<number>;
  lo: ArrayLike<number>; // the 10% quantile
  hi: ArrayLike<number>; // the 90% quantile
}

// Scores one day's forecast; `scale` is MASE's denominator from the history before it.
export function scoreDistribution(actual: ArrayLike<number>, f: ScoredForecast, scale: number): FullScores {
  return {
    smape: smape(actual, f.point),
    mae: mae(actual, f.median),
    rmse: rmse(actual, f.mean),
    mase: mae(actual, f.median) / scale,
    pinball: pinball(actual, f.lo, f.hi),
    coverage80: coverage(actual, f.lo, f.hi),
  };
}

// The mean pinball loss over all quantile levels and hours: a discrete approximation of half the CRPS,
// the proper score of a whole predictive distribution (what the per-chat choice minimises).
export function quantileLoss(actual: ArrayLike<number>, q: ArrayLike<number>, levels: readonly number[]): number {
  const L = levels.length;
  if (q.length !== actual.length * L) throw new ChatcastError('STATE', `Cannot score ${q.length / L} forecast hours against ${actual.length} actual hours`);
  let sum = 0;
  for (let h = 0; h < actual.length; h++) {
    for (let l = 0; l < L; l++) {
      const diff = actual[h] - q[h * L + l];
      sum += diff >= 0 ? levels[l] * diff : (levels[l] - 1) * diff;
    }
  }
  return sum / (actual.length * L);
}

// Calibration of a quantile for counts: how many hours fell below it and how many at or below it
// (for a calibrated τ-quantile the first share is at most τ and the second at least τ).
export function calibrationCounts(actual: ArrayLike<number>, quantile: ArrayLike<number>): { below: number; atOrBelow: number } {
  checkLengths(actual, quantile);
  let below = 0;
  let atOrBelow = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] < quantile[i]) below++;
    if (actual[i] <= quantile[i]) atOrBelow++;
  }
  return { below, atOrBelow };
}

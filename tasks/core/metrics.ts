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

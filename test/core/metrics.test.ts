import { describe, expect, it } from 'vitest';
import { mae, rmse, score, smape } from '../../tasks/core/metrics.js';

describe('forecast scores', () => {
  it('equal hand-computed values', () => {
    const actual = [0, 2, 4, 0];
    const predicted = [1, 2, 2, 0];
    // sMAPE terms: |0-1|/((0+1)/2)=2, 0, |4-2|/((4+2)/2)=2/3, both zero → 0; mean = (2 + 2/3) / 4
    expect(smape(actual, predicted)).toBeCloseTo((2 + 2 / 3) / 4, 12);
    expect(mae(actual, predicted)).toBeCloseTo((1 + 0 + 2 + 0) / 4, 12);
    expect(rmse(actual, predicted)).toBeCloseTo(Math.sqrt((1 + 0 + 4 + 0) / 4), 12);
  });

  it('score an all-zero day forecast as all zeros as perfect, and a silent day against any forecast as sMAPE 2', () => {
    const zeros = new Array(24).fill(0);
    expect(score(zeros, zeros)).toEqual({ smape: 0, mae: 0, rmse: 0 });
    const ones = new Array(24).fill(1);
    expect(score(zeros, ones)).toEqual({ smape: 2, mae: 1, rmse: 1 });
  });

  it('match sktime MeanAbsolutePercentageError(symmetric=True) on a worked example', () => {
    // sktime: mean(|y - ŷ| / (max(|y| + |ŷ|, eps) / 2)) for y=[3, -0.5, 2, 7], ŷ=[2.5, 0.0, 2, 8]
    // = mean(0.5/2.75, 0.5/0.25, 0, 1/7.5) = 0.5787878787878787 (sktime's docstring value)
    expect(smape([3, -0.5, 2, 7], [2.5, 0.0, 2, 8])).toBeCloseTo(0.5787878787878787, 12);
  });

  it('refuse series of different lengths', () => {
    expect(() => smape([1, 2], [1])).toThrow(/Cannot score 1 forecast hours against 2 actual hours/);
  });
});

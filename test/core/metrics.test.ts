import { describe, expect, it } from 'vitest';
import { calibrationCounts, coverage, mae, mase, naiveScale, pinball, quantileLoss, rmse, score, scoreDistribution, smape } from '../../tasks/core/metrics.js';

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

describe('scores of the forecast distribution', () => {
  it('coverage and pinball equal hand-computed values', () => {
    const actual = [0, 3, 5, 1];
    const lo = [0, 1, 0, 2];
    const hi = [2, 3, 4, 4];
    // inside: 0∈[0,2] yes, 3∈[1,3] yes, 5∈[0,4] no, 1∈[2,4] no → 2 of 4
    expect(coverage(actual, lo, hi)).toBe(0.5);
    // pinball per hour: (ρ0.1(y−lo) + ρ0.9(y−hi)) / 2, ρτ(u) = max(τu, (τ−1)u)
    // h0: ρ.1(0)=0, ρ.9(−2)=0.2 → 0.1;  h1: ρ.1(2)=0.2, ρ.9(0)=0 → 0.1
    // h2: ρ.1(5)=0.5, ρ.9(1)=0.9 → 0.7;  h3: ρ.1(−1)=0.9, ρ.9(−3)=0.3 → 0.6
    expect(pinball(actual, lo, hi)).toBeCloseTo((0.1 + 0.1 + 0.7 + 0.6) / 4, 12);
  });

  it('MASE divides MAE by the in-sample error of "same hour yesterday"', () => {
    const history = [1, 0, 2, 3, 1, 4]; // season 3: |3−1| + |1−0| + |4−2| = 5 over 3 → 5/3
    expect(naiveScale(history, 3)).toBeCloseTo(5 / 3, 12);
    expect(mase([2, 2], [1, 4], history, 3)).toBeCloseTo(1.5 / (5 / 3), 12);
  });

  it('scoreDistribution scores the point on sMAPE, the median on MAE and MASE, the mean on RMSE, the band on coverage and pinball', () => {
    const actual = [0, 4];
    const s = scoreDistribution(actual, { point: [0, 3], median: [0, 2], mean: [1, 3], lo: [0, 0], hi: [1, 3] }, 2);
    expect(s).toEqual({ smape: smape(actual, [0, 3]), mae: 1, rmse: 1, mase: 0.5, pinball: pinball(actual, [0, 0], [1, 3]), coverage80: 0.5 });
  });

  it('quantileLoss is the mean pinball loss over levels and hours; calibrationCounts counts below and at-or-below', () => {
    // One hour, y = 2, quantiles 1 (τ 0.25) and 4 (τ 0.75): 0.25·1 and 0.25·2, mean 0.375.
    expect(quantileLoss([2], [1, 4], [0.25, 0.75])).toBeCloseTo(0.375, 12);
    expect(calibrationCounts([0, 1, 2, 3], [1, 1, 1, 1])).toEqual({ below: 1, atOrBelow: 2 });
  });
});

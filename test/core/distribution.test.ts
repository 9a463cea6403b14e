import { describe, expect, it } from 'vitest';
import seedrandom from 'seedrandom';
import { expectedSmape, LEVELS, pointMass, smapeOptimal, summarise, weightedQuantile } from '../../tasks/core/distribution.js';
import { smape } from '../../tasks/core/metrics.js';

const sorted = (xs: number[]) => Float64Array.from(xs).sort();
const equal = (n: number) => new Float64Array(n).fill(1 / n);

describe('a predictive distribution from a weighted sample', () => {
  it('takes quantiles as the inverse CDF, so a quantile of counts is a count', () => {
    const v = sorted([0, 0, 0, 1, 2, 5]);
    const w = equal(6);
    expect([0.1, 0.5, 0.51, 0.66, 0.67, 0.9, 1].map((t) => weightedQuantile(v, w, t))).toEqual([0, 0, 1, 1, 2, 5, 5]);
    expect(weightedQuantile(sorted([3, 7]), Float64Array.from([0.9, 0.1]), 0.9)).toBe(3);
  });

  it('gives the point with the least expected sMAPE: 0 for a probably silent hour, near the median for a busy one', () => {
    // 70% silent: predicting 0 costs 2·0.3 = 0.6; anything else costs at least 2·0.7.
    expect(smapeOptimal(sorted([0, 0, 0, 0, 0, 0, 0, 3, 4, 6]), equal(10), [0, 0, 0, 0, 0, 3, 4, 6])).toBe(0);
    // A busy hour: the optimum is a value of the distribution, and it beats 0 by far.
    const busy = sorted([180, 190, 200, 210, 260]);
    const point = smapeOptimal(busy, equal(5), busy);
    expect(point).toBeGreaterThan(0);
    expect(expectedSmape(busy, equal(5), point)).toBeLessThan(expectedSmape(busy, equal(5), 0));
  });

  it('has that point as good as the best value on a fine grid, for random distributions', () => {
    const rng = seedrandom('smape');
    for (let trial = 0; trial < 200; trial++) {
      const n = 5 + Math.floor(rng() * 40);
      const values = sorted(Array.from({ length: n }, () => (rng() < 0.5 ? 0 : Math.floor(rng() ** 2 * 30))));
      const weights = equal(n);
      const q = LEVELS.map((t) => weightedQuantile(values, weights, t));
      const point = smapeOptimal(values, weights, q);
      const grid = Array.from({ length: 601 }, (_, i) => i / 20);
      const best = Math.min(...grid.map((c) => expectedSmape(values, weights, c)));
      // The search is over 0 and the quantiles: within 3% of the grid's best (sMAPE is flat near its optimum).
      expect(expectedSmape(values, weights, point)).toBeLessThanOrEqual(best * 1.03 + 1e-12);
      // expectedSmape is what smape() averages: check it on the sample itself.
      expect(expectedSmape(values, weights, point)).toBeCloseTo(smape(values, new Array(n).fill(point)), 10);
    }
  });

  it('summarises a day: mean, P(0), quantiles, the median and the 80% range of the total', () => {
    const hours = [sorted([0, 0, 1, 3]), sorted([2, 2, 2, 2])];
    const f = summarise(2, (h) => ({ values: hours[h], weights: equal(4) }), { values: Float64Array.from([2, 4, 6, 8]), weights: equal(4) });
    expect(Array.from(f.mean)).toEqual([1, 2]);
    expect(Array.from(f.p0)).toEqual([0.5, 0]);
    expect(Array.from(f.median)).toEqual([0, 2]);
    expect(f.q.length).toBe(2 * LEVELS.length);
    expect(f.total).toEqual({ mean: 3, lo: 2, hi: 8 });
    expect(Array.from(f.point)).toEqual([0, 2]);
  });

  it('treats a point forecast as a distribution with all its mass on the value', () => {
    const f = pointMass([0, 3]);
    expect(Array.from(f.p0)).toEqual([1, 0]);
    expect(Array.from(f.q.subarray(LEVELS.length))).toEqual(new Array(LEVELS.length).fill(3));
    expect(f.total).toEqual({ mean: 3, lo: 3, hi: 3 });
  });
});

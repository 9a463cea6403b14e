import { describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { simulateDay } from '../../tasks/core/simulate.js';
import { hourlyCounts } from '../../tasks/core/series.js';
import { BASELINES, forecastOrigins, type ModelSpec } from '../../tasks/core/models.js';
import { SEED_KNN } from '../../tasks/core/knn.js';
import { defaultParams } from '../../tasks/core/params.js';

// 60 simulated UTC days, hour by hour.
const days = daysFrom('2024-01-01', '2024-02-29');
const values = Float32Array.from(days.flatMap((d) => (hourlyCounts(simulateDay(d, 'UTC'), d, 'UTC').objects() as { messages: number }[]).map((r) => r.messages)));
const anchors = days.map((_, i) => i * 24);
const origins = [24 * 50, 24 * 55, 24 * 59];
const ALL: ModelSpec[] = [SEED_KNN, defaultParams().train, ...BASELINES.map((model) => ({ model }))];

describe('baselines', () => {
  it('follow their definitions', () => {
    const o = origins[0];
    const at = (h: number, daysBack: number) => values[o - 24 * daysBack + h];
    expect(Array.from(forecastOrigins({ model: 'zeros' }, values, [o], anchors, 24).median[0])).toEqual(new Array(24).fill(0));
    expect(Array.from(forecastOrigins({ model: 'naive_day' }, values, [o], anchors, 24).median[0])).toEqual(Array.from({ length: 24 }, (_, h) => at(h, 1)));
    expect(Array.from(forecastOrigins({ model: 'naive_week' }, values, [o], anchors, 24).median[0])).toEqual(Array.from({ length: 24 }, (_, h) => at(h, 7)));
    const median7 = forecastOrigins({ model: 'median_7d' }, values, [o], anchors, 24).median[0];
    const sample = (h: number) => [1, 2, 3, 4, 5, 6, 7].map((d) => at(h, d)).sort((a, b) => a - b);
    expect(Array.from(median7)).toEqual(Array.from({ length: 24 }, (_, h) => sample(h)[3]));
    const mean14 = forecastOrigins({ model: 'mean_14d' }, values, [o], anchors, 24).mean[0];
    const mean = (h: number) => Array.from({ length: 14 }, (_, d) => at(h, d + 1)).reduce((a, b) => a + b) / 14;
    mean14.forEach((v, h) => expect(v).toBeCloseTo(mean(h), 5));
  });
});

describe('every model', () => {
  it.each(ALL.map((spec) => [spec.model, spec] as const))('%s gives ordered, non-negative bands: 0 ≤ lo ≤ median ≤ hi', (_name, spec) => {
    const f = forecastOrigins(spec, values, origins, anchors, 24);
    origins.forEach((_, i) => {
      for (let h = 0; h < 24; h++) {
        expect(f.lo[i][h]).toBeGreaterThanOrEqual(0);
        expect(f.lo[i][h]).toBeLessThanOrEqual(f.median[i][h]);
        expect(f.median[i][h]).toBeLessThanOrEqual(f.hi[i][h]);
        expect(f.mean[i][h]).toBeGreaterThanOrEqual(0);
      }
    });
  });

  it.each(ALL.map((spec) => [spec.model, spec] as const))('%s sees nothing at or after its origin', (_name, spec) => {
    const o = origins[1];
    const changed = Float32Array.from(values, (v, i) => (i >= o ? v * 3 + 7 : v));
    const a = forecastOrigins(spec, values, [o], anchors, 24);
    const b = forecastOrigins(spec, changed, [o], anchors, 24);
    for (const key of ['median', 'mean', 'lo', 'hi'] as const) expect(Array.from(b[key][0])).toEqual(Array.from(a[key][0]));
  });
});

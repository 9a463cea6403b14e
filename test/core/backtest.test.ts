import { describe, expect, it } from 'vitest';
import { addDays, dayHours, daysFrom } from '../../tasks/core/dates.js';
import { simulateDay } from '../../tasks/core/simulate.js';
import { emptySeries, formatSeries, hourlyCounts, upsertDays, valuesThrough } from '../../tasks/core/series.js';
import { backtest, originsOf, parseHourlySeries } from '../../tasks/core/backtest.js';
import { dayStarts, describeModel, predictDay } from '../../tasks/core/forecast.js';
import { forecastOrigins } from '../../tasks/core/models.js';
import { scoreDistribution, naiveScale } from '../../tasks/core/metrics.js';
import { SEED_KNN, type KnnParams } from '../../tasks/core/knn.js';
import { defaultParams } from '../../tasks/core/params.js';

const days = daysFrom('2024-01-01', '2024-03-10');
const table = upsertDays(emptySeries(), days.map((d) => hourlyCounts(simulateDay(d, 'UTC'), d, 'UTC')), days);
const text = formatSeries(table);
const series = parseHourlySeries(text, 'hourly.tsv');
const small: KnnParams = { model: 'knn_direct', k: 15, window: 72, transform: 'log1p', band: [0.1, 0.8] };

describe('series files', () => {
  it("read chatcast's own format and the original all_messages_cnt.csv alike", () => {
    const original = 'datetime\ttxt_cnt\n' + series.starts.map((s, i) => `${s.replace('T', ' ').replace('Z', '+00:00')}\t${series.values[i]}`).join('\n') + '\n';
    expect(parseHourlySeries(original, 'cnt.csv')).toEqual(series);
    expect(series.values.length).toBe(days.length * 24);
  });

  it('refuse a gap, naming the line', () => {
    const lines = text.trim().split('\n');
    const gappy = [...lines.slice(0, 10), ...lines.slice(11)].join('\n');
    expect(() => parseHourlySeries(gappy, 'h.tsv')).toThrow(`Invalid h.tsv line 11: hour "${lines[11].split('\t')[0]}" does not follow ${lines[9].split('\t')[0]}: expected consecutive hours`);
  });
});

describe('the batched backtest', () => {
  it('takes the last N complete days as origins', () => {
    const origins = originsOf(series, 'UTC', 10);
    expect(origins.map((o) => o.day)).toEqual(days.slice(-10));
    expect(origins[0].index).toBe(24 * (days.length - 10));
  });

  it.each([
    ['the direct KNN', small],
    ['the recursive KNN', SEED_KNN],
  ])('gives %s the same forecasts as train and forecast run origin by origin', (_name, params) => {
    const origins = originsOf(series, 'UTC', 8);
    const batch = forecastOrigins(params, series.values, origins.map((o) => o.index), dayStarts(days.flatMap((d) => new Array(24).fill(d))), 24);
    origins.forEach(({ day }, i) => {
      const before = addDays(day, -1);
      const { values, starts, days: dayOfHour } = valuesThrough(table, before);
      const card = describeModel(values, starts, dayOfHour, params, before, 'UTC');
      const doc = predictDay(card, values, dayHours(day, 'UTC'), before, day);
      const round = (a: Float32Array) => Array.from(a, (v) => Math.round(Math.max(0, v) * 1e4) / 1e4);
      expect(doc.hours.map((h) => h.median)).toEqual(round(batch.median[i]));
      expect(doc.hours.map((h) => h.mean)).toEqual(round(batch.mean[i]));
      expect(doc.hours.map((h) => h.hi)).toEqual(round(batch.hi[i]));
    });
  });

  it('averages the per-origin scores of those forecasts', () => {
    const result = backtest(series, 'UTC', 8, [{ name: 'small', spec: small }]);
    const origins = originsOf(series, 'UTC', 8).map((o) => o.index);
    const f = forecastOrigins(small, series.values, origins, dayStarts(days.flatMap((d) => new Array(24).fill(d))), 24);
    const per = origins.map((o, i) =>
      scoreDistribution(series.values.subarray(o, o + 24), { median: f.median[i], mean: f.mean[i], lo: f.lo[i], hi: f.hi[i] }, naiveScale(series.values.subarray(0, o))),
    );
    const mean = (key: keyof (typeof per)[0]) => per.reduce((s, p) => s + p[key], 0) / per.length;
    for (const key of ['smape', 'mae', 'rmse', 'mase', 'pinball', 'coverage80'] as const) {
      expect(result.models.small[key]).toBeCloseTo(mean(key), 5);
    }
    expect(result.origins).toEqual(days.slice(-8));
  });

  it('scores the default model and the baselines without error on a simulated chat', () => {
    const result = backtest(series, 'UTC', 20, [
      { name: 'default', spec: { ...defaultParams().train, k: 21 } as KnnParams },
      { name: 'zeros', spec: { model: 'zeros' } },
    ]);
    expect(result.models.zeros.coverage80).toBeGreaterThan(0);
    expect(result.models.default.rmse).toBeGreaterThan(0);
  });
});

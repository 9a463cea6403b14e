import { describe, expect, it } from 'vitest';
import { addDays, dayHours, daysFrom } from '../../tasks/core/dates.js';
import { simulateDay } from '../../tasks/core/simulate.js';
import { emptySeries, formatSeries, hourlyCounts, upsertDays, valuesThrough } from '../../tasks/core/series.js';
import { backtest, forecastWith, originsOf, parseHourlySeries, published, seriesDays } from '../../tasks/core/backtest.js';
import { describeModel, predictDay } from '../../tasks/core/forecast.js';
import { naiveScale, scoreDistribution } from '../../tasks/core/metrics.js';
import type { AutoParams } from '../../tasks/core/choice.js';
import type { ModelSpec } from '../../tasks/core/models.js';

function seriesText(zone: string, first: string, last: string) {
  const days = daysFrom(first, last);
  const table = upsertDays(emptySeries(), days.map((d) => hourlyCounts(simulateDay(d, zone), d, zone)), days);
  return { days, table, text: formatSeries(table) };
}

const utc = seriesText('UTC', '2024-01-01', '2024-03-10');
const series = parseHourlySeries(utc.text, 'hourly.tsv');
const small: ModelSpec = { model: 'knn_direct', k: 15, window: 72, transform: 'log1p', jitter: 1 };
const auto: AutoParams = { model: 'auto', select_days: 14, pool: 3 };

describe('series files', () => {
  it("read chatcast's own format and the original all_messages_cnt.csv alike", () => {
    const original = 'datetime\ttxt_cnt\n' + series.starts.map((s, i) => `${s.replace('T', ' ').replace('Z', '+00:00')}\t${series.values[i]}`).join('\n') + '\n';
    expect(parseHourlySeries(original, 'cnt.csv')).toEqual(series);
    expect(series.values.length).toBe(utc.days.length * 24);
  });

  it('refuse a gap, naming the line', () => {
    const lines = utc.text.trim().split('\n');
    const gappy = [...lines.slice(0, 10), ...lines.slice(11)].join('\n');
    expect(() => parseHourlySeries(gappy, 'h.tsv')).toThrow(`Invalid h.tsv line 11: hour "${lines[11].split('\t')[0]}" does not follow ${lines[9].split('\t')[0]}: expected consecutive hours`);
  });

  it('accept hours that start at :30 UTC (Asia/Kolkata) and :45 (Asia/Kathmandu)', () => {
    for (const zone of ['Asia/Kolkata', 'Asia/Kathmandu']) {
      const s = parseHourlySeries(seriesText(zone, '2024-01-01', '2024-01-05').text, 'h.tsv');
      expect(s.starts[0]).toBe(dayHours('2024-01-01', zone)[0].start);
      expect(s.values.length).toBe(5 * 24);
    }
  });
});

describe('the batched backtest', () => {
  it('takes the last N complete days as origins, each with its own number of hours', () => {
    const origins = originsOf(series, 'UTC', 10);
    expect(origins.map((o) => o.day)).toEqual(utc.days.slice(-10));
    expect(origins[0]).toEqual({ index: 24 * (utc.days.length - 10), day: utc.days.at(-10), hours: 24 });
    const berlin = parseHourlySeries(seriesText('Europe/Berlin', '2024-03-01', '2024-04-05').text, 'b.tsv');
    const days = originsOf(berlin, 'Europe/Berlin', 10);
    expect(days.find((o) => o.day === '2024-03-31')?.hours).toBe(23);
  });

  it.each([
    ['the direct KNN', small],
    ['the profile', { model: 'profile', days: 28, halflife: 7, weekday: 0.5, level: true } as ModelSpec],
    ['the recursive KNN', { model: 'knn_recursive', k: 1, window: 168 } as ModelSpec],
    ['the per-chat choice', auto],
  ])('gives %s the same forecasts as train and forecast run day by day', (_name, spec) => {
    const origins = originsOf(series, 'UTC', 6);
    const { forecasts } = forecastWith(spec, series.values, seriesDays(series, 'UTC'), origins.map((o) => ({ day: o.day, end: o.index, hours: dayHours(o.day, 'UTC') })));
    origins.forEach(({ day }, i) => {
      const before = addDays(day, -1);
      const { values, starts } = valuesThrough(utc.table, before, 'UTC');
      const card = describeModel(values, starts, spec as AutoParams, before, 'UTC');
      const doc = predictDay(card, values, dayHours(day, 'UTC'), before, day);
      const round = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(Math.max(0, v) * 1e4) / 1e4);
      expect(doc.hours.map((h) => h.mean)).toEqual(round(forecasts[i].mean));
      expect(doc.hours.map((h) => h.point)).toEqual(round(forecasts[i].point));
      expect(doc.hours.map((h) => h.hi)).toEqual(round(published(forecasts[i]).hi));
    });
  });

  it('averages the per-origin scores of those forecasts and counts calibration over all hours', () => {
    const result = backtest(series, 'UTC', 8, [{ name: 'small', spec: small }]);
    const origins = originsOf(series, 'UTC', 8);
    const { forecasts } = forecastWith(small, series.values, seriesDays(series, 'UTC'), origins.map((o) => ({ day: o.day, end: o.index, hours: dayHours(o.day, 'UTC') })));
    const per = origins.map((o, i) => scoreDistribution(series.values.subarray(o.index, o.index + 24), published(forecasts[i]), naiveScale(series.values.subarray(0, o.index))));
    const mean = (key: keyof (typeof per)[0]) => per.reduce((s, p) => s + p[key], 0) / per.length;
    for (const key of ['smape', 'mae', 'rmse', 'mase', 'pinball', 'coverage80'] as const) expect(result.models.small[key]).toBeCloseTo(mean(key), 5);
    let below = 0;
    let atOrBelow = 0;
    origins.forEach((o, i) =>
      published(forecasts[i]).q50.forEach((q, h) => {
        below += series.values[o.index + h] < q ? 1 : 0;
        atOrBelow += series.values[o.index + h] <= q ? 1 : 0;
      }),
    );
    expect(result.models.small.calibration['0.5']).toEqual([Math.round((below / 192) * 1e4) / 1e4, Math.round((atOrBelow / 192) * 1e4) / 1e4]);
    expect(result.origins).toEqual(utc.days.slice(-8));
  });

  it('runs on an Asia/Kolkata series, hours at :30 UTC, with local midnights as origins', () => {
    const kolkata = parseHourlySeries(seriesText('Asia/Kolkata', '2024-01-01', '2024-03-10').text, 'k.tsv');
    const result = backtest(kolkata, 'Asia/Kolkata', 10, [
      { name: 'default', spec: auto },
      { name: 'zeros', spec: { model: 'zeros' } },
    ]);
    expect(result.origins).toEqual(daysFrom('2024-03-01', '2024-03-10'));
    expect(result.models.default.pinball).toBeLessThan(result.models.zeros.pinball);
    expect(Object.values(result.models.default.chosen!).reduce((a, b) => a + b, 0)).toBe(30);
  });
});

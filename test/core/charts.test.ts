import { describe, expect, it } from 'vitest';
import { actualFigure, forecastFigure, hourTicks, type Figure } from '../../tasks/core/charts.js';
import { dayHours } from '../../tasks/core/dates.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';

// A forecast and an actual day over a day's real hour slots, the values beside the point.
function figures(day: string, zone: string): { hours: ReturnType<typeof dayHours>; figures: Figure[] } {
  const hours = dayHours(day, zone);
  const forecast = {
    day,
    total: 10,
    total_range: [5, 15],
    peak: { local: '20:00', mean: 2 },
    hours: hours.map((h, i) => ({ ...h, point: 1, median: 1, mean: (i % 4) + 0.5, lo: 0, hi: (i % 4) + 2, p0: 0.3, quantiles: [0, 1, 2] })),
  } as unknown as ForecastDoc;
  const actual = hours.map((h, i) => ({ ...h, day, messages: i % 3 }));
  return {
    hours,
    figures: [actualFigure({ title: 't', day, zone, language: 'en', actual, forecast }), forecastFigure({ title: 't', zone, language: 'ru', forecast })],
  };
}

const xaxis = (f: Figure) => f.layout.xaxis as { type: string; tickmode: string; tickvals: string[]; ticktext: string[]; tickangle: number };
const margin = (f: Figure) => f.layout.margin as { b: number };

// Ordinary days, the clock changes of Berlin (23 and 25 hours), Lord Howe's half-hour changes, and the
// zones whose repeated hour opens (Havana) or closes (Santiago) the day, or is not adjacent (Goose Bay).
const DAYS = [
  { zone: 'Europe/Berlin', day: '2024-11-14', count: 24 },
  { zone: 'Asia/Kolkata', day: '2024-11-14', count: 24 },
  { zone: 'Europe/Berlin', day: '2024-03-31', count: 23 },
  { zone: 'Europe/Berlin', day: '2024-10-27', count: 25 },
  { zone: 'Australia/Lord_Howe', day: '2024-04-07', count: 25 },
  { zone: 'Australia/Lord_Howe', day: '2024-10-06', count: 24 },
  { zone: 'America/Havana', day: '2024-11-03', count: 25 },
  { zone: 'America/Santiago', day: '2024-04-06', count: 25 },
  { zone: 'America/Goose_Bay', day: '2010-11-07', count: 26 },
];

describe('the hour axis of both charts', () => {
  it.each(DAYS)('$zone $day: one unique label per real hour slot, in the order of the day', ({ zone, day, count }) => {
    const { hours, figures: both } = figures(day, zone);
    expect(hours).toHaveLength(count);
    for (const figure of both) {
      const axis = xaxis(figure);
      const x = figure.data[0].x as string[];
      // Every trace draws on the same categories, one per slot, none merged by plotly.
      for (const trace of figure.data) expect(trace.x).toEqual(x);
      expect(new Set(x).size).toBe(count);
      // Every category gets its tick and its own text: no hour thinned out, no two alike.
      expect(axis).toMatchObject({ type: 'category', tickmode: 'array', tickangle: -45 });
      expect(axis.tickvals).toEqual(x);
      expect(axis.ticktext).toHaveLength(count);
      expect(new Set(axis.ticktext).size).toBe(count);
      // In the day's order, each label starting with its slot's clock time.
      axis.ticktext.forEach((text, i) => expect(text.startsWith(hours[i].local), `${text} at ${i}`).toBe(true));
      x.forEach((key, i) => expect(key.startsWith(hours[i].local)).toBe(true));
      // The bottom margin grows with the longest slanted label, so none is cut at the chart's edge.
      const longest = Math.max(...axis.ticktext.map((t) => t.length));
      expect(margin(figure).b).toBeGreaterThanOrEqual(50 + longest * 5.5);
    }
  });

  it("an ordinary day's labels are the plain clock hours, and its margin is the usual one", () => {
    const { figures: both } = figures('2024-11-14', 'Europe/Berlin');
    for (const figure of both) {
      expect(xaxis(figure).ticktext).toEqual(Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:00`));
      expect(margin(figure).b).toBe(78);
    }
  });

  it('the 25-hour autumn day shows 02:00 twice, each with its offset, summer time first', () => {
    const { figures: both } = figures('2024-10-27', 'Europe/Berlin');
    for (const figure of both) {
      const axis = xaxis(figure);
      expect(axis.ticktext.slice(0, 5)).toEqual(['00:00', '01:00', '02:00 UTC+2', '02:00 UTC+1', '03:00']);
      expect(axis.tickvals.slice(2, 4)).toEqual(['02:00 (UTC+02:00)', '02:00 (UTC+01:00)']);
      expect(axis.ticktext.at(-1)).toBe('23:00');
    }
  });

  it('the 23-hour spring day has no 02:00 and no offsets', () => {
    const { figures: both } = figures('2024-03-31', 'Europe/Berlin');
    for (const figure of both) {
      const text = xaxis(figure).ticktext;
      expect(text.slice(0, 3)).toEqual(['00:00', '01:00', '03:00']);
      expect(text.some((t) => t.startsWith('02:'))).toBe(false);
      expect(text.every((t) => /^\d\d:\d\d$/.test(t))).toBe(true);
    }
  });

  it("Lord Howe's half-hour changes show the 30-minute slot by its clock time", () => {
    expect(hourTicks(dayHours('2024-04-07', 'Australia/Lord_Howe')).slice(0, 5)).toEqual(['00:00', '01:00', '01:30', '02:00', '03:00']);
    expect(hourTicks(dayHours('2024-10-06', 'Australia/Lord_Howe')).slice(0, 4)).toEqual(['00:00', '01:00', '02:30', '03:00']);
  });

  it('offsets read as on a clock: west of UTC with a minus sign, half hours with their minutes', () => {
    expect(hourTicks(dayHours('2024-11-03', 'America/Havana')).slice(0, 3)).toEqual(['00:00 UTC−4', '00:00 UTC−5', '01:00']);
    expect(hourTicks(dayHours('2024-04-06', 'America/Santiago')).slice(-2)).toEqual(['23:00 UTC−3', '23:00 UTC−4']);
    expect(hourTicks([
      { local: '23:00', offset: '+04:30' },
      { local: '23:00', offset: '+03:30' },
    ])).toEqual(['23:00 UTC+4:30', '23:00 UTC+3:30']);
    expect(hourTicks([
      { local: '01:00', offset: '+01:00' },
      { local: '01:00', offset: '+00:00' },
    ])).toEqual(['01:00 UTC+1', '01:00 UTC+0']);
  });

  it('a date the clocks skipped draws an empty axis', () => {
    const { hours, figures: both } = figures('2011-12-30', 'Pacific/Apia');
    expect(hours).toHaveLength(0);
    for (const figure of both) expect(xaxis(figure)).toMatchObject({ tickvals: [], ticktext: [] });
  });
});

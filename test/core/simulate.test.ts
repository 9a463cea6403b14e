import { describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { simulateDay } from '../../tasks/core/simulate.js';
import { hourlyCounts } from '../../tasks/core/series.js';

describe('the simulated chat', () => {
  it('is deterministic: the same seed and day give the same messages', () => {
    expect(simulateDay('2024-05-06', 'Europe/Berlin')).toEqual(simulateDay('2024-05-06', 'Europe/Berlin'));
    expect(simulateDay('2024-05-06', 'Europe/Berlin')).not.toEqual(simulateDay('2024-05-07', 'Europe/Berlin'));
  });

  it('looks like a real group chat over a year: mostly silent hours, a daily rhythm, quiet weekends and weeks', () => {
    const zone = 'Europe/Berlin';
    const days = daysFrom('2024-01-01', '2024-12-30');
    const byHour = new Array(24).fill(0);
    let total = 0;
    let zeroHours = 0;
    let hours = 0;
    const weekday: number[] = [];
    const weekend: number[] = [];
    const perDay: number[] = [];
    for (const day of days) {
      const messages = simulateDay(day, zone);
      const rows = hourlyCounts(messages, day, zone).objects() as { local: string; messages: number }[];
      for (const r of rows) {
        byHour[Number(r.local.slice(0, 2))] += r.messages;
        if (r.messages === 0) zeroHours++;
        hours++;
      }
      total += messages.length;
      perDay.push(messages.length);
      (new Date(day).getUTCDay() % 6 === 0 ? weekend : weekday).push(messages.length);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(zeroHours / hours).toBeGreaterThan(0.6);
    expect(zeroHours / hours).toBeLessThan(0.8);
    expect(total / days.length).toBeGreaterThan(30);
    expect(total / days.length).toBeLessThan(70);
    expect(byHour[3]).toBeLessThan(byHour[20] / 5); // nights are quiet
    expect(mean(weekend)).toBeLessThan(mean(weekday));
    expect(perDay.filter((n) => n < 10).length).toBeGreaterThan(20); // quiet weeks
    const kinds = new Set(days.slice(0, 30).flatMap((d) => simulateDay(d, zone).map((m) => m.kind)));
    expect([...kinds]).toEqual(expect.arrayContaining(['text', 'photo', 'sticker', 'service']));
  });
});

import { describe, expect, it } from 'vitest';
import { chatDays } from '../../tasks/core/calendar.js';
import { CANDIDATES } from '../../tasks/core/choice.js';
import { dayHours, daysFrom } from '../../tasks/core/dates.js';
import { LEVELS, Q10, Q50, Q90 } from '../../tasks/core/distribution.js';
import { BASELINES, dayTargets, forecastTargets, type ModelSpec } from '../../tasks/core/models.js';
import { SEED_KNN } from '../../tasks/core/knn.js';
import { hourlyCounts } from '../../tasks/core/series.js';
import { simulateDay } from '../../tasks/core/simulate.js';

// 70 simulated days in Berlin around the spring clock change, hour by hour.
const zone = 'Europe/Berlin';
const dayList = daysFrom('2024-01-22', '2024-04-30');
const rows = dayList.flatMap((d) => hourlyCounts(simulateDay(d, zone), d, zone).objects() as { start: string; messages: number }[]);
const values = rows.map((r) => r.messages);
const days = chatDays(rows.map((r) => r.start), zone);
const at = (day: string) => days.findIndex((d) => d.day === day);
const targets = dayTargets(days, at('2024-03-28')).slice(0, 7); // through 2024-04-03, spring day included
const ALL: ModelSpec[] = [SEED_KNN, ...BASELINES.map((model) => ({ model })), ...CANDIDATES.map((c) => c.spec)];

describe('baselines', () => {
  it('follow their definitions, hour for hour by the clock', () => {
    const t = targets[0];
    const back = (n: number, h: number) => values[days[at(t.day) - n].start + h];
    const [zeros, naiveDay, naiveWeek, median7, mean14] = BASELINES.map((model) => forecastTargets({ model }, values, days, [t])[0]);
    expect(Array.from(zeros.point)).toEqual(new Array(24).fill(0));
    expect(Array.from(naiveDay.point)).toEqual(Array.from({ length: 24 }, (_, h) => back(1, h)));
    expect(Array.from(naiveWeek.mean)).toEqual(Array.from({ length: 24 }, (_, h) => back(7, h)));
    const sample = (h: number) => [1, 2, 3, 4, 5, 6, 7].map((n) => back(n, h)).sort((a, b) => a - b);
    expect(Array.from(median7.median)).toEqual(Array.from({ length: 24 }, (_, h) => sample(h)[3]));
    mean14.mean.forEach((v, h) => expect(v).toBeCloseTo([...Array(14)].reduce((s, _, n) => s + back(n + 1, h), 0) / 14, 10));
  });

  it('take the spring day by clock hour and fill its missing 02:00 from 24 hours before', () => {
    // 2024-04-01 follows the 23-hour 2024-03-31: its 08:00 is that day's 08:00 (index 7), 24 real hours earlier is 07:00.
    const t = targets.find((x) => x.day === '2024-04-01')!;
    const spring = days[at('2024-03-31')];
    const f = forecastTargets({ model: 'naive_day' }, values, days, [t])[0];
    expect(f.point[8]).toBe(values[spring.start + 7]);
    expect(f.point[2]).toBe(values[t.end + 2 - 24]);
    expect(f.point).toHaveLength(24);
    const onSpring = forecastTargets({ model: 'naive_day' }, values, days, [targets.find((x) => x.day === '2024-03-31')!])[0];
    expect(onSpring.point).toHaveLength(23);
    expect(onSpring.point[7]).toBe(values[days[at('2024-03-30')].start + 8]); // 08:00 is hour 7 of the spring day
  });
});

describe('every model', () => {
  it.each(ALL.map((spec) => [JSON.stringify(spec), spec] as const))('%s gives each hour ordered quantiles, P(0) and a point, never below 0', (_name, spec) => {
    const forecasts = forecastTargets(spec, values, days, targets);
    forecasts.forEach((f, i) => {
      expect(f.mean).toHaveLength(targets[i].hours.length);
      for (let h = 0; h < f.mean.length; h++) {
        const q = f.q.subarray(h * LEVELS.length, (h + 1) * LEVELS.length);
        for (let l = 1; l < q.length; l++) expect(q[l]).toBeGreaterThanOrEqual(q[l - 1]);
        expect(q[0]).toBeGreaterThanOrEqual(0);
        expect(f.p0[h]).toBeGreaterThanOrEqual(0);
        expect(f.p0[h]).toBeLessThanOrEqual(1);
        expect(f.point[h]).toBeGreaterThanOrEqual(0);
        expect(f.mean[h]).toBeGreaterThanOrEqual(0);
        expect(q[Q10]).toBeLessThanOrEqual(q[Q90]);
      }
      expect(f.total.lo).toBeLessThanOrEqual(f.total.hi);
    });
  });

  it.each(ALL.map((spec) => [JSON.stringify(spec), spec] as const))('%s sees nothing at or after its target', (_name, spec) => {
    const t = targets[3];
    const changed = values.map((v, i) => (i >= t.end ? v * 3 + 7 : v));
    const a = forecastTargets(spec, values, days, [t])[0];
    const b = forecastTargets(spec, changed, days, [t])[0];
    expect(Array.from(b.q)).toEqual(Array.from(a.q));
    expect(Array.from(b.mean)).toEqual(Array.from(a.mean));
    expect(Array.from(b.point)).toEqual(Array.from(a.point));
  });

  it('batched over targets equal one target at a time', () => {
    for (const spec of ALL) {
      const batch = forecastTargets(spec, values, days, targets);
      targets.forEach((t, i) => expect(Array.from(forecastTargets(spec, values.slice(0, t.end), days.filter((d) => d.start < t.end), [t])[0].q)).toEqual(Array.from(batch[i].q)));
    }
  });
});

describe('clock-correct forecasts on clock-change days', () => {
  // A chat that writes only at 08:00 and 20:00 on its own clock, every day.
  const zone = 'Europe/Berlin';
  const list = daysFrom('2024-01-01', '2024-11-30');
  const slots = list.flatMap((d) => dayHours(d, zone).map((s) => ({ ...s, day: d })));
  const fixed = slots.map((s) => (s.local === '08:00' || s.local === '20:00' ? 5 : 0));
  const chat = chatDays(slots.map((s) => s.start), zone);

  it.each(['2024-03-31', '2024-10-27', '2024-04-01', '2024-10-28'])('%s: every model expects the most at 08:00 and 20:00', (day) => {
    const i = chat.findIndex((d) => d.day === day);
    const target = { day, end: chat[i].start, hours: chat[i].hours };
    for (const spec of [...BASELINES.filter((b) => b !== 'zeros').map((model) => ({ model }) as ModelSpec), ...CANDIDATES.map((c) => c.spec)]) {
      const f = forecastTargets(spec, fixed, chat, [target])[0];
      expect(f.mean, JSON.stringify(spec)).toHaveLength(target.hours.length);
      const top = Math.max(...f.mean);
      const busiest = target.hours.flatMap((h, j) => (f.mean[j] === top ? [h.local] : []));
      expect(busiest, JSON.stringify(spec)).toEqual(['08:00', '20:00']);
    }
  });

  it('the models without jitter put all of the 80% band there too', () => {
    const i = chat.findIndex((d) => d.day === '2024-10-27');
    const target = { day: '2024-10-27', end: chat[i].start, hours: chat[i].hours };
    for (const spec of [{ model: 'median_7d' } as ModelSpec, { model: 'knn_direct', k: 20, window: 168, transform: 'log1p' } as ModelSpec]) {
      const f = forecastTargets(spec, fixed, chat, [target])[0];
      expect(target.hours.flatMap((h, j) => (f.q[j * LEVELS.length + Q50] > 0 ? [h.local] : []))).toEqual(['08:00', '20:00']);
    }
  });
});

describe('an hour that no analogue day has', () => {
  it('is lent by the hour before it: the day after the spring change, forecast from that day alone', () => {
    const zone = 'Europe/Berlin';
    const list = daysFrom('2024-03-20', '2024-04-01');
    const slots = list.flatMap((d) => dayHours(d, zone).map((s) => ({ ...s, day: d })));
    const counts = slots.map((s, i) => (s.local === '01:00' ? 4 : i % 3));
    const chat = chatDays(slots.map((s) => s.start), zone);
    const day = chat.find((d) => d.day === '2024-04-01')!;
    const [f] = forecastTargets({ model: 'profile', days: 1, halflife: 1, weekday: 1, level: false }, counts, chat, [{ day: day.day, end: day.start, hours: day.hours }]);
    expect(f.mean).toHaveLength(24);
    expect(f.mean[2]).toBe(f.mean[1]); // 02:00 takes the spring day's 01:00
    expect(f.mean[1]).toBe(4);
  });
});

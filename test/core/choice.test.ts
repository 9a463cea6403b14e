import { describe, expect, it } from 'vitest';
import { chatDays } from '../../tasks/core/calendar.js';
import { autoForecast, CANDIDATES, choose, type Candidate } from '../../tasks/core/choice.js';
import { dayHours, daysFrom } from '../../tasks/core/dates.js';
import { describeModel } from '../../tasks/core/forecast.js';
import { dayTargets, forecastTargets, historyNeeded } from '../../tasks/core/models.js';

// A chat that writes 6 messages an hour from 18:00 to 22:00 on weekdays and nothing at weekends.
const zone = 'UTC';
const list = daysFrom('2024-01-01', '2024-04-30');
const slots = list.flatMap((d) => dayHours(d, zone).map((s) => ({ ...s, day: d })));
const weekday = (day: string) => new Date(`${day}T00:00:00Z`).getUTCDay();
const values = slots.map((s) => (weekday(s.day) % 6 !== 0 && s.local >= '18:00' && s.local <= '22:00' ? 6 : 0));
const days = chatDays(slots.map((s) => s.start), zone);
const candidates: Candidate[] = [
  { name: 'any_day', spec: { model: 'profile', days: 28, halflife: 28, weekday: 1, level: false } },
  { name: 'same_weekday', spec: { model: 'profile', days: 28, halflife: 28, weekday: 0, level: false } },
];

describe('the per-chat choice', () => {
  it('picks the candidate that did best on the days before, and says how each did', () => {
    const targets = dayTargets(days, 100).slice(0, 5);
    const choices = choose(values, days, targets, { model: 'auto', select_days: 21, pool: 1 }, candidates);
    for (const c of choices) {
      expect(c.chosen).toBe('same_weekday');
      expect(c.scores.same_weekday!).toBeLessThan(c.scores.any_day!);
      expect(c.compared?.days).toBe(21);
    }
    expect(choices[0].compared).toEqual({ first: days[79].day, last: days[99].day, days: 21 });
  });

  it('pools the best candidates when asked: their analogue days together', () => {
    const [c] = choose(values, days, dayTargets(days, 100).slice(0, 1), { model: 'auto', select_days: 21, pool: 2 }, candidates);
    expect(c.chosen).toBe('same_weekday+any_day');
    expect(c.spec).toEqual({ model: 'pool', members: [{ share: 0.5, spec: candidates[1].spec }, { share: 0.5, spec: candidates[0].spec }] });
  });

  it('looks only at the past: what happens on and after the target changes nothing', () => {
    const target = dayTargets(days, 90)[0];
    const changed = values.map((v, i) => (i >= target.end ? 50 - v : v));
    const params = { model: 'auto', select_days: 28, pool: 3 } as const;
    expect(choose(changed, days, [target], params)).toEqual(choose(values, days, [target], params));
    const a = autoForecast(changed, days, [target], params).forecasts[0];
    const b = autoForecast(values, days, [target], params).forecasts[0];
    expect(Array.from(a.q)).toEqual(Array.from(b.q));
  });

  it('falls back on a new chat: nothing on its first day, the first candidate that can forecast after that', () => {
    const [first, second] = choose(values, days, dayTargets(days, 0).slice(0, 2), { model: 'auto', select_days: 56, pool: 3 });
    expect(first).toMatchObject({ chosen: 'zeros', compared: null });
    expect(second).toMatchObject({ chosen: 'profile_28d', compared: null });
  });

  it('is what train records in the model card, with the scores that justified it', () => {
    const end = days[100].start;
    const card = describeModel(Float32Array.from(values.slice(0, end)), slots.slice(0, end).map((s) => s.start), { model: 'auto', select_days: 21, pool: 1 }, days[99].day, zone);
    const [expected] = choose(values, days, [{ day: days[100].day, end, hours: days[100].hours }], { model: 'auto', select_days: 21, pool: 1 });
    expect(card.model).toEqual({ name: expected.chosen, spec: expected.spec });
    expect(card.choice).toEqual({ chosen: expected.chosen, compared: expected.compared, scores: expected.scores });
  });
});

describe('every candidate on a young chat', () => {
  it('forecasts every day it says it can, from the second day on', () => {
    for (const c of CANDIDATES) {
      const need = historyNeeded(c.spec);
      const targets = dayTargets(days, 1).slice(0, 20).filter((t) => t.end >= need);
      expect(() => forecastTargets(c.spec, values, days, targets), c.name).not.toThrow();
    }
  });
});

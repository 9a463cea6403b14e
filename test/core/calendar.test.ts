import { describe, expect, it } from 'vitest';
import { chatDays, clockMap } from '../../tasks/core/calendar.js';
import { dayHours, daysFrom } from '../../tasks/core/dates.js';

const hoursOf = (day: string, zone: string) => dayHours(day, zone).map(({ local, offset }) => ({ local, offset }));

describe('chat days of an hourly series', () => {
  it.each(['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney', 'UTC'])('match the day boundaries and clock hours of %s', (zone) => {
    const days = daysFrom('2024-01-01', '2024-12-31');
    const slots = days.flatMap((d) => dayHours(d, zone).map((s) => ({ ...s, day: d })));
    const got = chatDays(slots.map((s) => s.start), zone);
    expect(got.map((d) => d.day)).toEqual(days);
    expect(got.flatMap((d) => d.hours)).toEqual(slots.map(({ local, offset }) => ({ local, offset })));
    expect(got.map((d) => d.start)).toEqual(days.map((d) => slots.findIndex((s) => s.day === d)));
  });
});

describe('matching hours by the clock', () => {
  const zone = 'Europe/Berlin';
  const ordinary = hoursOf('2024-10-26', zone);
  const autumn = hoursOf('2024-10-27', zone); // 25 hours: 02:00 twice
  const spring = hoursOf('2024-03-31', zone); // 23 hours: no 02:00

  it('maps an autumn day onto an ordinary one: both 02:00s take the ordinary 02:00, 08:00 takes 08:00', () => {
    const map = Array.from(clockMap(autumn, ordinary));
    expect(map).toHaveLength(25);
    expect(map.slice(0, 4)).toEqual([0, 1, 2, 2]);
    expect(map[autumn.findIndex((h) => h.local === '08:00')]).toBe(8);
    expect(map[24]).toBe(23);
  });

  it('maps an ordinary day onto an autumn one by offset, and onto a spring one with its 02:00 absent', () => {
    const winter = hoursOf('2024-11-05', zone); // +01:00
    const onAutumn = Array.from(clockMap(winter, autumn));
    expect(onAutumn[2]).toBe(3); // 02:00 +01:00 is the second 02:00 of the autumn day
    expect(onAutumn[8]).toBe(9);
    const onSpring = Array.from(clockMap(ordinary, spring));
    expect(onSpring[2]).toBe(-1);
    expect(onSpring[8]).toBe(7);
  });
});

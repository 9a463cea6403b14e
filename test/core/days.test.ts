import { describe, expect, it } from 'vitest';
import { addDays, dayBounds, dayHours, dayOf, dayStart, daysFrom } from '../../tasks/core/dates.js';

const HOUR = 3_600_000;
// The local date of an instant, asked of Intl directly: a check independent of the code under test.
const formats = new Map<string, Intl.DateTimeFormat>();
function localDate(ms: number, zone: string): string {
  let f = formats.get(zone);
  if (!f) formats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(ms));
}

// Every zone of the IANA database (as this Node's ICU has it) and every day of 2010–2030: the days
// tile time, each starts at the first instant of its local date, and a date the zone skipped is empty.
describe('chat days in every time zone', () => {
  const zones = Intl.supportedValuesOf('timeZone');
  const days = daysFrom('2010-01-01', '2030-12-31');
  const chunks = Array.from({ length: 16 }, (_, i) => zones.filter((_, z) => z % 16 === i));
  // The check is a tight loop: let vitest's worker talk to its parent between zones.
  const breathe = () => new Promise((resolve) => setImmediate(resolve));

  it.each(chunks.map((c, i) => [i + 1, c.length, c] as const))(`tile time with no gap and no overlap, every day of 2010–2030: zones part %i (%i zones)`, async (_part, _count, chunk) => {
    const odd: string[] = [];
    const bad: string[] = [];
    for (const zone of chunk) {
      await breathe();
      let start = dayStart(days[0], zone);
      for (const day of days) {
        const end = dayStart(addDays(day, 1), zone);
        // The instant before the day's start belongs to an earlier date, its start to this date or a later one.
        if (!(localDate(start - 1, zone) < day) || !(end === start ? localDate(start, zone) > day : localDate(start, zone) === day)) bad.push(`${zone} ${day}`);
        if (end < start || end - start > 27 * HOUR) bad.push(`${zone} ${day}: ${(end - start) / HOUR} h`);
        if (end - start !== 24 * HOUR) odd.push(`${zone} ${day}`);
        start = end;
      }
    }
    expect(bad).toEqual([]);
    // The days that are not 24 hours long: their slots must tile them too, every slot inside the day.
    for (const key of odd) {
      await breathe();
      const [zone, day] = key.split(' ');
      const { startMs, endMs } = dayBounds(day, zone);
      const slots = dayHours(day, zone).map((s) => Date.parse(s.start));
      const edges = [...slots, endMs];
      expect(slots[0] ?? endMs, key).toBe(startMs);
      for (let i = 0; i < slots.length; i++) {
        const length = edges[i + 1] - edges[i];
        // A slot's clock may show the day before (a clock that fell back across midnight), never the day after.
        if (!(length > 0 && length <= HOUR && localDate(slots[i], zone) <= day && dayOf(slots[i], zone) === day)) bad.push(`${key} slot ${i}: ${length / 60000} min`);
      }
    }
    expect(bad).toEqual([]);
    expect(odd.length).toBeGreaterThan(50);
  }, 300_000);

  it.each([
    // Clocks that jump at midnight: the day starts at 01:00, the day before is 23 hours.
    ['America/Santiago', '2024-09-08', '04:00', '01:00', 23],
    ['America/Sao_Paulo', '2018-11-04', '03:00', '01:00', 23],
    ['Africa/Cairo', '2024-04-26', '22:00', '01:00', 23],
    ['America/Havana', '2024-03-10', '05:00', '01:00', 23],
    ['Asia/Beirut', '2024-03-31', '22:00', '01:00', 23],
    ['America/Asuncion', '2023-10-01', '04:00', '01:00', 23],
    // Falling back across midnight: the first of the two midnights starts the day, which has 25 hours.
    ['America/Havana', '2024-11-03', '04:00', '00:00', 25],
    ['America/Santiago', '2024-04-06', '03:00', '00:00', 25],
    // Half-hour changes: 23.5 and 24.5 hours, with one 30-minute slot.
    ['Australia/Lord_Howe', '2024-10-06', '13:30', '00:00', 23.5],
    ['Australia/Lord_Howe', '2024-04-07', '13:00', '00:00', 24.5],
  ])('%s %s starts at %s UTC (%s local) and lasts %s hours', (zone, day, utc, local, hours) => {
    const { startMs, endMs } = dayBounds(day, zone);
    expect(new Date(startMs).toISOString().slice(11, 16)).toBe(utc);
    expect((endMs - startMs) / HOUR).toBe(hours);
    const slots = dayHours(day, zone);
    expect(slots[0].local).toBe(local);
    expect(slots).toHaveLength(Math.ceil(hours));
    expect(dayBounds(addDays(day, -1), zone).endMs).toBe(startMs);
  });

  it('Pacific/Apia skipped 2011-12-30: an empty day between two whole ones', () => {
    expect(dayHours('2011-12-30', 'Pacific/Apia')).toEqual([]);
    expect(dayHours('2011-12-29', 'Pacific/Apia')).toHaveLength(24);
    expect(dayHours('2011-12-31', 'Pacific/Apia')).toHaveLength(24);
    const { startMs, endMs } = dayBounds('2011-12-30', 'Pacific/Apia');
    expect(startMs).toBe(endMs);
    expect(dayBounds('2011-12-29', 'Pacific/Apia').endMs).toBe(startMs);
  });

  it("Lord Howe's 30-minute slot is the one the clock skips past; the other hours stay on the clock's full hours", () => {
    const spring = dayHours('2024-10-06', 'Australia/Lord_Howe');
    expect(spring.map((s) => s.local).slice(0, 5)).toEqual(['00:00', '01:00', '02:30', '03:00', '04:00']);
    expect(spring.map((s) => s.offset).slice(1, 3)).toEqual(['+10:30', '+11:00']);
    const autumn = dayHours('2024-04-07', 'Australia/Lord_Howe');
    expect(autumn.map((s) => s.local).slice(0, 5)).toEqual(['00:00', '01:00', '01:30', '02:00', '03:00']);
  });
});

import { describe, expect, it } from 'vitest';
import { addDays, assertDayEnded, dayHours, dayOf, parseDay, parseZone } from '../../tasks/core/dates.js';

describe('chat days', () => {
  it('reject a bad --date with the value and the rule', () => {
    expect(() => parseDay('2024-13-01')).toThrow('Invalid --date "2024-13-01": expected YYYY-MM-DD');
    expect(() => parseDay('2024-02-30')).toThrow('Invalid --date "2024-02-30": expected YYYY-MM-DD');
    expect(() => parseDay('yesterday')).toThrow('Invalid --date "yesterday"');
    expect(parseDay('2024-02-29')).toBe('2024-02-29');
  });

  it('reject an unknown time zone', () => {
    expect(() => parseZone('Mars/Olympus')).toThrow('Invalid chat.timezone "Mars/Olympus": expected an IANA time zone');
    expect(parseZone('Asia/Kolkata')).toBe('Asia/Kolkata');
  });

  it('cut days at local midnight: 23 and 25 hours when Berlin changes clocks', () => {
    const spring = dayHours('2024-03-31', 'Europe/Berlin');
    expect(spring).toHaveLength(23);
    expect(spring[0]).toEqual({ start: '2024-03-30T23:00:00Z', local: '00:00', offset: '+01:00' });
    expect(spring[2]).toEqual({ start: '2024-03-31T01:00:00Z', local: '03:00', offset: '+02:00' });
    const autumn = dayHours('2024-10-27', 'Europe/Berlin');
    expect(autumn).toHaveLength(25);
    expect(autumn.map((h) => h.local).filter((l) => l === '02:00')).toHaveLength(2);
    expect(dayHours('2024-06-01', 'Europe/Berlin')).toHaveLength(24);
    expect(dayHours('2024-06-01', 'Asia/Kolkata')[0].start).toBe('2024-05-31T18:30:00Z');
  });

  it('place an instant in its chat day, not its UTC day', () => {
    expect(dayOf(Date.parse('2024-03-30T23:30:00Z'), 'Europe/Berlin')).toBe('2024-03-31');
    expect(dayOf(Date.parse('2024-03-30T23:30:00Z'), 'UTC')).toBe('2024-03-30');
    expect(addDays('2024-02-28', 2)).toBe('2024-03-01');
  });

  it('refuse a day that has not ended in the chat zone', () => {
    const now = Date.parse('2024-06-02T21:30:00Z'); // 23:30 in Berlin
    expect(() => assertDayEnded('2024-06-02', 'Europe/Berlin', now)).toThrow(
      'Invalid --date "2024-06-02": that day has not ended yet in Europe/Berlin (it is 2024-06-02 23:30 there)',
    );
    expect(() => assertDayEnded('2024-06-01', 'Europe/Berlin', now)).not.toThrow();
    // 22:30 UTC is already the next day in Berlin, so June 2 has ended there.
    expect(() => assertDayEnded('2024-06-02', 'Europe/Berlin', Date.parse('2024-06-02T22:30:00Z'))).not.toThrow();
  });
});

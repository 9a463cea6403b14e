import { describe, expect, it } from 'vitest';
import { dayHours } from '../../tasks/core/dates.js';
import { TEST_CHATS, syntheticChat } from '../../tasks/core/synthetic.js';

const chats = Object.fromEntries(TEST_CHATS.map((c) => [c.name, { character: c, rows: syntheticChat(c) }]));
const silent = (name: string) => chats[name].rows.filter((r) => r.messages === 0).length / chats[name].rows.length;
const perDay = (name: string, year: string) => {
  const rows = chats[name].rows.filter((r) => r.day.startsWith(year));
  return rows.reduce((s, r) => s + r.messages, 0) / new Set(rows.map((r) => r.day)).size;
};

describe('the generated chats the forecaster is judged on', () => {
  it('are the same on every run, hour by hour on their own clock, clock changes included', () => {
    for (const { character, rows } of Object.values(chats)) {
      expect(syntheticChat(character)).toEqual(rows);
      const autumn = rows.filter((r) => r.day === (character.zone === 'Australia/Sydney' ? '2024-04-07' : character.zone === 'America/New_York' ? '2024-11-03' : '2024-10-27'));
      expect(autumn.map((r) => r.start)).toEqual(dayHours(autumn[0].day, character.zone).map((h) => h.start));
    }
    expect(chats.ordinary.rows[0].start).toBe('2022-12-31T18:30:00Z'); // Asia/Kolkata: hours start at :30 UTC
  });

  it('differ in character: quiet, ordinary and busy; one grows and one fades', () => {
    expect(silent('quiet')).toBeGreaterThan(0.8);
    expect(silent('ordinary')).toBeGreaterThan(0.4);
    expect(silent('ordinary')).toBeLessThan(0.6);
    expect(silent('busy')).toBeLessThan(0.05);
    expect(Math.max(...chats.busy.rows.map((r) => r.messages))).toBeGreaterThan(500);
    expect(perDay('busy', '2024') / perDay('busy', '2023')).toBeGreaterThan(1.5);
    expect(perDay('ordinary', '2024') / perDay('ordinary', '2023')).toBeLessThan(0.75);
    // The quiet chat's summer break: July–September far quieter than October–December.
    const months = (from: string, to: string) => chats.quiet.rows.filter((r) => r.day >= from && r.day <= to).reduce((s, r) => s + r.messages, 0);
    expect(months('2024-07-15', '2024-09-15')).toBeLessThan(0.4 * months('2024-10-15', '2024-12-15'));
  });
});

import { DateTime, IANAZone } from 'luxon';
import { ChatcastError } from './errors.js';

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const HOUR_MS = 3_600_000;

// One hour of a chat's day: the instant it starts (UTC) and how the chat's clock shows it.
export interface HourSlot {
  start: string; // UTC instant, e.g. 2024-03-31T00:00:00Z
  local: string; // the chat's wall clock at that instant, e.g. 02:00
  offset: string; // the chat's UTC offset then, e.g. +01:00
}

// Every CLI flag and config value that names a day goes through here, so the error reads the same.
export function parseDay(value: unknown, what = '--date'): string {
  const text = String(value ?? '');
  if (!DAY_PATTERN.test(text) || !DateTime.fromISO(text, { zone: 'UTC' }).isValid) {
    throw new ChatcastError('USAGE', `Invalid ${what} "${text}": expected YYYY-MM-DD`);
  }
  return text;
}

// Time zones come from params.yaml and flags; a typo must stop the run before any day is cut wrongly.
export function parseZone(value: unknown, what = 'chat.timezone'): string {
  const text = String(value ?? '');
  if (!IANAZone.isValidZone(text)) {
    throw new ChatcastError(
      'CONFIG',
      `Invalid ${what} "${text}": expected an IANA time zone such as Europe/Berlin or UTC`,
    );
  }
  return text;
}

// Day arithmetic on calendar days, not on 24-hour steps (DST days are 23 or 25 hours long).
export function addDays(day: string, days: number): string {
  return DateTime.fromISO(day, { zone: 'UTC' }).plus({ days }).toISODate()!;
}

// The inclusive list of days from `first` to `last`, for backfills and the demo.
export function daysFrom(first: string, last: string): string[] {
  const out: string[] = [];
  for (let day = first; day <= last; day = addDays(day, 1)) out.push(day);
  return out;
}

// A day of the chat is [local midnight, next local midnight): these are its bounds in UTC milliseconds.
export function dayBounds(day: string, zone: string): { startMs: number; endMs: number } {
  const start = DateTime.fromISO(day, { zone }).startOf('day');
  const end = start.plus({ days: 1 });
  return { startMs: start.toMillis(), endMs: end.toMillis() };
}

// The hours of one chat day: 24 on most days, 23 or 25 when the clocks change.
export function dayHours(day: string, zone: string): HourSlot[] {
  const { startMs, endMs } = dayBounds(day, zone);
  const slots: HourSlot[] = [];
  for (let ms = startMs; ms < endMs; ms += HOUR_MS) {
    const local = DateTime.fromMillis(ms, { zone });
    slots.push({ start: utcIso(ms), local: local.toFormat('HH:mm'), offset: local.toFormat('ZZ') });
  }
  return slots;
}

// Which chat day an instant belongs to.
export function dayOf(instantMs: number, zone: string): string {
  return DateTime.fromMillis(instantMs, { zone }).toISODate()!;
}

// Instants are stored as UTC ISO strings with a Z, second precision.
export function utcIso(ms: number): string {
  return DateTime.fromMillis(ms, { zone: 'UTC' }).toISO({ suppressMilliseconds: true })!;
}

// The day that ended most recently in the chat's zone: the default day to process.
export function lastEndedDay(zone: string, nowMs: number = Date.now()): string {
  return DateTime.fromMillis(nowMs, { zone }).minus({ days: 1 }).toISODate()!;
}

// A day can only be processed once it is over in the chat's zone; otherwise its numbers are partial.
export function assertDayEnded(day: string, zone: string, nowMs: number = Date.now()): void {
  const { endMs } = dayBounds(day, zone);
  if (endMs > nowMs) {
    const now = DateTime.fromMillis(nowMs, { zone }).toFormat("yyyy-MM-dd HH:mm");
    throw new ChatcastError(
      'USAGE',
      `Invalid --date "${day}": that day has not ended yet in ${zone} (it is ${now} there)`,
    );
  }
}

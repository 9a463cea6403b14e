import { DateTime, IANAZone } from 'luxon';
import { ChatcastError } from './errors.js';

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
// No chat's history starts earlier (Telegram launched in 2013; simulated chats and the time-zone tests
// go back to 2010): an earlier day is a typo such as 1026-10-27, refused before it is pushed for good.
export const FIRST_PLAUSIBLE_DAY = '2000-01-01';
const HOUR_MS = 3_600_000;

// One hour of a chat's day: the instant it starts (UTC) and how the chat's clock shows it.
export interface HourSlot {
  start: string; // UTC instant, e.g. 2024-03-31T00:00:00Z
  local: string; // the chat's wall clock at that instant, e.g. 02:00
  offset: string; // the chat's UTC offset then, e.g. +01:00
}

// A bad flag is a usage error (exit 2), a bad params.yaml value a configuration error (exit 3).
export function codeFor(what: string): 'USAGE' | 'CONFIG' {
  return what.startsWith('--') ? 'USAGE' : 'CONFIG';
}

// Every CLI flag and config value that names a day goes through here, so the error reads the same.
export function parseDay(value: unknown, what = '--date'): string {
  const text = String(value ?? '');
  if (!DAY_PATTERN.test(text) || !DateTime.fromISO(text, { zone: 'UTC' }).isValid) {
    throw new ChatcastError(codeFor(what), `Invalid ${what} "${text}": expected YYYY-MM-DD`);
  }
  if (text < FIRST_PLAUSIBLE_DAY) throw new ChatcastError(codeFor(what), `Invalid ${what} "${text}": expected a day on or after ${FIRST_PLAUSIBLE_DAY}`);
  return text;
}

// Time zones come from params.yaml and flags; a typo must stop the run before any day is cut wrongly.
export function parseZone(value: unknown, what = 'chat.timezone'): string {
  const text = String(value ?? '');
  if (!IANAZone.isValidZone(text)) {
    throw new ChatcastError(
      codeFor(what),
      `Invalid ${what} "${text}": expected an IANA time zone such as Europe/Berlin or UTC`,
    );
  }
  return text;
}

// Day arithmetic on calendar days, not on 24-hour steps (DST days are 23 or 25 hours long).
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

// The inclusive list of days from `first` to `last`, for backfills and the demo.
export function daysFrom(first: string, last: string): string[] {
  const out: string[] = [];
  for (let day = first; day <= last; day = addDays(day, 1)) out.push(day);
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const DAY_MS = 86_400_000;

// The zone's UTC offset in minutes at an instant, asked of the IANA database through Intl.
function intlOffset(ms: number, zone: string): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, f);
  }
  const m = /GMT([+-])(\d{2}):?(\d{2})?(?::(\d{2}))?$/.exec(f.format(new Date(ms)));
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
}

// A zone's offsets over one UTC year (and two days either side): where each offset starts, exact to
// the millisecond. Built once per zone and year from Intl (a probe a day, a bisection per change).
type Segment = { from: number; offset: number };
const tables = new Map<string, Segment[]>();

function firstChange(lo: number, hi: number, offset: number, zone: string): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (intlOffset(mid, zone) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}

function segments(zone: string, year: number): Segment[] {
  const key = `${zone} ${year}`;
  let table = tables.get(key);
  if (table) return table;
  const from = Date.UTC(year, 0, 1) - 2 * DAY_MS;
  const to = Date.UTC(year + 1, 0, 1) + 2 * DAY_MS;
  table = [{ from: -Infinity, offset: intlOffset(from, zone) }];
  let offset = table[0].offset;
  for (let t = from; t < to; t += DAY_MS) {
    const next = t + DAY_MS;
    let lo = t;
    for (let guard = 0; intlOffset(next, zone) !== offset && guard < 8; guard++) {
      const change = firstChange(lo, next, offset, zone);
      offset = intlOffset(change, zone);
      table.push({ from: change, offset });
      lo = change;
    }
  }
  if (tables.size > 20_000) tables.clear();
  tables.set(key, table);
  return table;
}

// The zone's UTC offset in minutes at an instant.
export function offsetAt(ms: number, zone: string): number {
  const table = segments(zone, new Date(ms).getUTCFullYear());
  let lo = 0;
  let hi = table.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table[mid].from <= ms) lo = mid;
    else hi = mid - 1;
  }
  return table[lo].offset;
}

// The first instant after `ms` at which the zone's offset changes (Infinity within the table's reach if none).
function nextOffsetChange(ms: number, zone: string): number {
  const table = segments(zone, new Date(ms).getUTCFullYear());
  const found = table.find((s) => s.from > ms);
  return found ? found.from : Date.UTC(new Date(ms).getUTCFullYear() + 1, 0, 1);
}

// ±HH:mm, as the series file writes offsets.
export function formatOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const localIso = (ms: number, offset: number) => new Date(ms + offset * 60_000).toISOString();

// The first instant whose local date is `day` or later: where the chat day begins. Usually local
// midnight; 01:00 where the clocks jump at midnight (America/Santiago, Africa/Cairo, …); the first
// of two midnights where they fall back across it; and, for a date the zone skipped (Pacific/Apia
// 2011-12-30), the start of the next date, so the skipped day is empty.
export function dayStart(day: string, zone: string): number {
  const midnight = Date.parse(`${day}T00:00:00Z`);
  // Offsets lie within −12 h … +14 h: at `before` the local date is surely earlier than `day`, at `after` not.
  const before = midnight - 15 * HOUR_MS;
  const after = midnight + 13 * HOUR_MS;
  let start = Infinity;
  // In each stretch of one offset, the first instant whose local time reaches `day`'s midnight.
  for (let t = before; t < after; ) {
    const offset = offsetAt(t, zone);
    const end = Math.min(nextOffsetChange(t, zone), after);
    const first = Math.max(t, midnight - offset * 60_000);
    if (first < end) start = Math.min(start, first);
    t = end;
  }
  return start;
}

// A chat day is [its first instant, the next day's first instant): its bounds in UTC milliseconds.
// Consecutive days tile time with no gap and no overlap, in every zone (a skipped date is empty).
export function dayBounds(day: string, zone: string): { startMs: number; endMs: number } {
  return { startMs: dayStart(day, zone), endMs: dayStart(addDays(day, 1), zone) };
}

// The first instant after `from` at which the zone's offset changes, or `to` if it does not before then.
function nextChange(from: number, to: number, zone: string): number {
  return Math.min(nextOffsetChange(from, zone), to);
}

// The hours of one chat day, as its clock shows them: 24 on most days, 23 or 25 when the clocks
// change by an hour, none on a skipped date. Each slot runs to the next full hour of the local clock
// (or to the clock change, or to the day's end), so a zone that moves its clock by 30 minutes
// (Australia/Lord_Howe) has one 30-minute slot that day, a real interval like every other.
export function dayHours(day: string, zone: string): HourSlot[] {
  const { startMs, endMs } = dayBounds(day, zone);
  const slots: HourSlot[] = [];
  const first = offsetAt(startMs, zone);
  if (endMs > startMs && first === offsetAt(endMs - 1, zone) && (startMs + first * 60_000) % HOUR_MS === 0 && (endMs - startMs) % HOUR_MS === 0) {
    // One offset all day, starting on a full hour: whole hours (no clock change inside the day).
    for (let t = startMs; t < endMs; t += HOUR_MS) slots.push({ start: utcIso(t), local: localIso(t, first).slice(11, 16), offset: formatOffset(first) });
    return slots;
  }
  for (let t = startMs; t < endMs; ) {
    const offset = offsetAt(t, zone);
    const local = localIso(t, offset);
    const toNextHour = HOUR_MS - ((((t + offset * 60_000) % HOUR_MS) + HOUR_MS) % HOUR_MS);
    const next = nextChange(t, Math.min(t + toNextHour, endMs), zone);
    slots.push({ start: utcIso(t), local: local.slice(11, 16), offset: formatOffset(offset) });
    t = next;
  }
  return slots;
}

// Which chat day an instant belongs to: the day whose bounds hold it. That is its local date, except
// in the hour after a clock that falls back across midnight (America/Goose_Bay 2010-11-07 went from
// 00:01 back to 23:01): those instants show the day before but belong to the day already begun.
export function dayOf(instantMs: number, zone: string): string {
  let day = localIso(instantMs, offsetAt(instantMs, zone)).slice(0, 10);
  while (instantMs >= dayStart(addDays(day, 1), zone)) day = addDays(day, 1);
  return day;
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

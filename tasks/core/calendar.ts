import { formatOffset, offsetAt } from './dates.js';

// Re-exported: the calendar of a series speaks in the same offsets as the days it cuts.
export { formatOffset, offsetAt };
// An hour as the chat's clock shows it; the offset tells the two 02:00s of an autumn night apart.
export interface ClockHour {
  local: string; // HH:mm
  offset: string; // ±HH:mm
}

// A chat day inside an hourly series: where it starts and the clock hours it has (23, 24 or 25).
export interface ChatDay {
  day: string;
  start: number; // index of its first hour in the series
  hours: ClockHour[];
}

// The chat days of a series whose hours start at `starts` (UTC instants), in the chat's zone.
export function chatDays(starts: string[], zone: string): ChatDay[] {
  const ms = starts.map((s) => Date.parse(s));
  const offsets = offsetsAt(ms, zone);
  const days: ChatDay[] = [];
  ms.forEach((t, i) => {
    const local = new Date(t + offsets[i] * 60_000).toISOString();
    const day = local.slice(0, 10);
    const hour = { local: local.slice(11, 16), offset: formatOffset(offsets[i]) };
    const last = days[days.length - 1];
    if (last && last.day === day) last.hours.push(hour);
    else days.push({ day, start: i, hours: [hour] });
  });
  return days;
}

// The zone's UTC offset in minutes at each instant. Offsets change rarely, so the zone is asked once a
// day and hour by hour only across a day in which the offset changed.
export function offsetsAt(ms: number[], zone: string): Int32Array {
  const out = new Int32Array(ms.length);
  const probe = (i: number) => offsetAt(ms[i], zone);
  let i = 0;
  let current = ms.length ? probe(0) : 0;
  while (i < ms.length) {
    const j = Math.min(ms.length - 1, i + 24);
    const next = probe(j);
    if (next === current && ms[j] - ms[i] <= 24 * 3_600_000) out.fill(current, i, j + 1);
    else for (let n = i; n <= j; n++) out[n] = probe(n);
    current = next;
    i = j + 1;
    if (i < ms.length) current = probe(i);
  }
  return out;
}

const maps = new Map<string, Int16Array>();

// For each hour of `target`, the position of the same clock hour in `day`, or −1 where `day` has no
// such hour (the hour skipped in spring). The repeated autumn hour is matched by its offset when
// `day` repeats it too, else by its clock time; a clock time that `day` never shows at all (a zone
// that moved its clock by half an hour) falls back to the same position.
export function clockMap(target: ClockHour[], day: ClockHour[]): Int16Array {
  const key = `${signature(target)}|${signature(day)}`;
  let map = maps.get(key);
  if (map) return map;
  map = new Int16Array(target.length);
  const byClock = new Map<string, number[]>();
  day.forEach((h, i) => byClock.set(h.local, [...(byClock.get(h.local) ?? []), i]));
  const minutes = new Set(day.map((h) => h.local.slice(3)));
  target.forEach((h, i) => {
    const same = byClock.get(h.local);
    if (same) {
      map![i] = same.find((j) => day[j].offset === h.offset) ?? same[0];
    } else if (minutes.has(h.local.slice(3))) {
      map![i] = -1; // a clock hour this day skipped
    } else {
      map![i] = Math.min(i, day.length - 1);
    }
  });
  if (maps.size > 10_000) maps.clear();
  maps.set(key, map);
  return map;
}

const signatures = new WeakMap<ClockHour[], string>();

function signature(hours: ClockHour[]): string {
  let s = signatures.get(hours);
  if (s === undefined) {
    // An ordinary day's clock is 00:00 … 23:00 at any single offset; the key ignores which offset.
    const ordinary = hours.length === 24 && hours.every((h, i) => h.local === `${String(i).padStart(2, '0')}:00`) && hours.every((h) => h.offset === hours[0].offset);
    s = ordinary ? 'day24' : hours.map((h) => `${h.local}${h.offset}`).join(',');
    signatures.set(hours, s);
  }
  return s;
}

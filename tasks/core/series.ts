import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { ChatcastError } from './errors.js';
import { addDays, dayBounds, dayHours, dayStart } from './dates.js';
import { formatTsv, parseTsv } from './tsv.js';
import type { Message } from './messages.js';

const HOUR_MS = 3_600_000;
const COLUMNS = ['start', 'day', 'local', 'offset', 'messages'] as const;

// One row of the hourly series: an hour of the chat's day and how many messages it had.
export interface SeriesRow {
  start: string; // UTC instant the hour starts
  day: string; // the chat day (its IANA zone) the hour belongs to
  local: string; // HH:mm on the chat's clock
  offset: string; // the chat's UTC offset in that hour
  messages: number; // every message: text, media, stickers, service messages
}

// The hours of one chat day with their message counts, zero hours included (23, 24 or 25 rows; none
// on a date the zone skipped). A message counts in the slot that holds it (slots are the day's clock hours).
export function hourlyCounts(messages: Message[], day: string, zone: string): ColumnTable {
  const { startMs, endMs } = dayBounds(day, zone);
  const slots = dayHours(day, zone);
  if (slots.length === 0 && messages.length === 0) return emptySeries(); // a date the zone skipped
  const edges = slots.map((s) => Date.parse(s.start));
  const keys = messages.map((m) => {
    const ms = Date.parse(m.at);
    if (!(ms >= startMs && ms < endMs)) {
      throw new ChatcastError(
        'STATE',
        `Message${m.id === null ? '' : ` ${m.id}`} at "${m.at}" is outside ${day} in ${zone}: a partition holds only its own day`,
      );
    }
    let lo = 0;
    let hi = edges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= ms) lo = mid;
      else hi = mid - 1;
    }
    return slots[lo].start;
  });
  const grid = aq.from(slots.map((slot) => ({ ...slot, day })));
  const counts = aq.table({ start: keys }).groupby('start').count({ as: 'messages' });
  return grid
    .join_left(counts, 'start')
    .impute({ messages: () => 0 })
    .select(...COLUMNS)
    .orderby('start');
}

// Replaces one day's hours in the series (or adds them): a rerun of a day never duplicates it.
export function upsertDay(series: ColumnTable, dayRows: ColumnTable, day: string): ColumnTable {
  return upsertDays(series, [dayRows], [day]);
}

// Replaces several days at once (an export's years of days in one pass).
export function upsertDays(series: ColumnTable, tables: ColumnTable[], days: string[]): ColumnTable {
  const replaced = new Set(days);
  return series
    .filter(aq.escape((d: SeriesRow) => !replaced.has(d.day)))
    .concat(...tables)
    .orderby('start');
}

// An empty series, for the first day of a workspace.
export function emptySeries(): ColumnTable {
  return aq.table({ start: [], day: [], local: [], offset: [], messages: [] });
}

// The series file is TSV: readable in a diff, plotted by `dvc plots`, loaded by any tool.
export function formatSeries(series: ColumnTable): string {
  return formatTsv(series, COLUMNS);
}

// The series split by the month of its chat days, each as its own file's text: a new day rewrites only
// its month, so DVC stores one small file a day instead of the whole history again.
export function formatSeriesMonths(series: ColumnTable): Map<string, string> {
  const [header, ...lines] = formatSeries(series).split('\n').filter((line) => line !== '');
  const months = new Map<string, string[]>();
  for (const line of lines) {
    const month = line.split('\t', 2)[1].slice(0, 7);
    if (!months.has(month)) months.set(month, [header]);
    months.get(month)!.push(line);
  }
  return new Map([...months].sort(([a], [b]) => (a < b ? -1 : 1)).map(([month, l]) => [month, l.join('\n') + '\n']));
}

// Reads a series written by formatSeries, keeping instants and clocks as text.
export function parseSeries(content: string, file: string): ColumnTable {
  return parseTsv(content, file, COLUMNS, { messages: Number }, { messages: { pattern: /^\d+$/, rule: 'expected a whole number of messages (0 or more): rerun "chatcast aggregate" for that day' } });
}

// The model needs a gap-free series: every hour from the first day through `day`, in order. A day
// the zone skipped (no hours) passes: the series then ends with the day before it.
export function valuesThrough(series: ColumnTable, day: string, zone: string): { values: Float32Array; starts: string[]; days: string[] } {
  const rows = series
    .params({ day })
    .filter((d: SeriesRow, $: { day: string }) => d.day <= $.day)
    .orderby('start')
    .objects() as SeriesRow[];
  const last = rows.at(-1)?.day;
  const emptyAfterLast = last !== undefined && last < day && dayStart(addDays(last, 1), zone) === dayStart(addDays(day, 1), zone);
  if (rows.length === 0 || (last !== day && !emptyAfterLast)) {
    throw new ChatcastError(
      'STATE',
      `The hourly series has no hours for ${day}: run "chatcast aggregate --date ${day}" first`,
    );
  }
  for (let i = 1; i < rows.length; i++) {
    if (!follows(rows[i - 1], rows[i], zone)) {
      throw new ChatcastError(
        'STATE',
        `The hourly series has a gap between ${rows[i - 1].start} and ${rows[i].start}: ingest and aggregate the missing days (${rows[i - 1].day} … ${rows[i].day}) first`,
      );
    }
  }
  return { values: Float32Array.from(rows, (r) => r.messages), starts: rows.map((r) => r.start), days: rows.map((r) => r.day) };
}

// True when `next` is the slot right after `previous`: an hour later within a day (less only where the
// clock moved by half an hour), or the next day's first slot, with only skipped dates in between.
function follows(previous: SeriesRow, next: SeriesRow, zone: string): boolean {
  const a = Date.parse(previous.start);
  const b = Date.parse(next.start);
  if (!(b > a && b - a <= HOUR_MS)) return false;
  if (previous.day === next.day) return b - a === HOUR_MS || dayHours(next.day, zone).some((s) => s.start === next.start);
  return next.day > previous.day && dayStart(addDays(previous.day, 1), zone) === b && dayStart(next.day, zone) === b;
}

// The rows of one day, in time order.
export function dayRows(series: ColumnTable, day: string): SeriesRow[] {
  return series
    .params({ day })
    .filter((d: SeriesRow, $: { day: string }) => d.day === $.day)
    .orderby('start')
    .objects() as SeriesRow[];
}

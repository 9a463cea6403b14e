import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../tasks/core/dates.js';
import { parseMessagesTsv, type Message } from '../../tasks/core/messages.js';
import { emptySeries, formatSeries, hourlyCounts, parseSeries, upsertDay, valuesThrough, type SeriesRow } from '../../tasks/core/series.js';
import { FIXTURES, SEED_CHAT } from '../helpers.js';

const small = parseMessagesTsv(readFileSync(join(FIXTURES, 'messages-small.tsv'), 'utf8'), 'small');
const rowsOf = (messages: Message[], day: string, zone: string) =>
  hourlyCounts(messages.filter((m) => dayOf(Date.parse(m.at), zone) === day), day, zone).objects() as SeriesRow[];

describe('hourly aggregation', () => {
  it('has a row for every hour of the chat day, zero hours included, and counts media-only messages', () => {
    const rows = rowsOf(small, '2024-03-31', 'UTC');
    expect(rows).toHaveLength(24);
    expect(rows.filter((r) => r.messages === 0)).toHaveLength(20);
    expect(rows[0]).toEqual({ start: '2024-03-31T00:00:00Z', day: '2024-03-31', local: '00:00', offset: '+00:00', messages: 1 });
    expect(rows.reduce((s, r) => s + r.messages, 0)).toBe(4);
  });

  it('gives the spring DST day in Berlin 23 hours and the autumn one 25, counting by the chat clock', () => {
    const spring = rowsOf(small, '2024-03-31', 'Europe/Berlin');
    expect(spring).toHaveLength(23);
    expect(spring.map((r) => `${r.local}=${r.messages}`).filter((s) => !s.endsWith('=0'))).toEqual(['00:00=1', '01:00=1', '03:00=1', '23:00=1']);
    const autumnMessages: Message[] = [
      { id: 1, at: '2024-10-27T00:30:00Z', sender: '1', kind: 'text', reply_to: null }, // 02:30 CEST
      { id: 2, at: '2024-10-27T01:30:00Z', sender: '1', kind: 'photo', reply_to: null }, // 02:30 CET
    ];
    const autumn = rowsOf(autumnMessages, '2024-10-27', 'Europe/Berlin');
    expect(autumn).toHaveLength(25);
    expect(autumn.filter((r) => r.messages > 0).map((r) => [r.local, r.offset, r.start])).toEqual([
      ['02:00', '+02:00', '2024-10-27T00:00:00Z'],
      ['02:00', '+01:00', '2024-10-27T01:00:00Z'],
    ]);
  });

  it('replaces a day on rerun instead of adding it twice, and round-trips the file byte for byte', () => {
    const first = upsertDay(emptySeries(), hourlyCounts([], '2024-03-30', 'UTC'), '2024-03-30');
    const once = upsertDay(first, hourlyCounts(small.slice(2), '2024-03-31', 'UTC'), '2024-03-31');
    const twice = upsertDay(once, hourlyCounts(small.slice(2), '2024-03-31', 'UTC'), '2024-03-31');
    expect(twice.numRows()).toBe(48);
    expect(formatSeries(twice)).toBe(formatSeries(once));
    expect(formatSeries(parseSeries(formatSeries(once), 'f'))).toBe(formatSeries(once));
    expect(Array.from(valuesThrough(once, '2024-03-31', 'UTC').values).reduce((a, b) => a + b)).toBe(4);
  });

  it('refuses a message outside the day and a series with a gap', () => {
    expect(() => hourlyCounts(small, '2024-03-31', 'UTC')).toThrow(/Message at "2024-03-30T22:15:00Z" is outside 2024-03-31 in UTC/);
    const gappy = upsertDay(
      upsertDay(emptySeries(), hourlyCounts([], '2024-03-01', 'UTC'), '2024-03-01'),
      hourlyCounts([], '2024-03-03', 'UTC'),
      '2024-03-03',
    );
    expect(() => valuesThrough(gappy, '2024-03-03', 'UTC')).toThrow(
      'The hourly series has a gap between 2024-03-01T23:00:00Z and 2024-03-03T00:00:00Z: ingest and aggregate the missing days (2024-03-01 … 2024-03-03) first',
    );
  });

  const seed = join(SEED_CHAT, 'messages.tsv');
  it.skipIf(!existsSync(seed))(
    `on the real seed chat equals the original hourly counts except where media-only messages now count (needs ${SEED_CHAT})`,
    () => {
      const messages = parseMessagesTsv(readFileSync(seed, 'utf8'), 'messages.tsv');
      expect(messages).toHaveLength(20_235);
      const original = readFileSync(join(SEED_CHAT, 'hourly_counts.tsv'), 'utf8').trim().split('\n').slice(1).map((line) => {
        const [datetime, count] = line.split('\t');
        return { start: datetime.replace(' ', 'T').replace('+00:00', 'Z'), count: Number(count) };
      });
      const byDay = new Map<string, Message[]>();
      for (const m of messages) byDay.set(m.at.slice(0, 10), [...(byDay.get(m.at.slice(0, 10)) ?? []), m]);
      let series = emptySeries();
      let media = emptySeries();
      for (const [day, ms] of byDay) {
        series = upsertDay(series, hourlyCounts(ms, day, 'UTC'), day);
        media = upsertDay(media, hourlyCounts(ms.filter((m) => m.kind === 'media'), day, 'UTC'), day);
      }
      const ours = new Map((series.objects() as SeriesRow[]).map((r) => [r.start, r.messages]));
      const mediaOnly = new Map((media.objects() as SeriesRow[]).map((r) => [r.start, r.messages]));
      let differing = 0;
      for (const { start, count } of original) {
        const all = ours.get(start) ?? 0;
        expect(all - (mediaOnly.get(start) ?? 0), start).toBe(count);
        if (all !== count) differing++;
      }
      expect(original).toHaveLength(9_646);
      expect([...mediaOnly.values()].reduce((a, b) => a + b)).toBe(841);
      expect(differing).toBeGreaterThan(0);
      console.info(`seed chat: ${original.length} hours, ${differing} of them gain media-only messages`);
    },
  );
});

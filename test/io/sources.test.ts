import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dayBounds, daysFrom } from '../../tasks/core/dates.js';
import { formatPartition, parseMessagesTsv } from '../../tasks/core/messages.js';
import { defaultParams, type Params } from '../../tasks/core/params.js';
import { readDay, readTsvDay, tsvIndex, tsvIndexPath, type TsvIndex } from '../../tasks/io/sources.js';
import { FIXTURES, tempDir } from '../helpers.js';

// The TSV source used to parse the whole file for every day; now it indexes the file once (byte ranges
// per UTC day, kept in the workspace's .chatcast) and reads a day's ranges only. `before` is the old
// behaviour: parse everything, keep the day's rows.
function before(content: string, file: string, day: string, zone: string, storeText: boolean) {
  const { startMs, endMs } = dayBounds(day, zone);
  return parseMessagesTsv(content, file, storeText).filter((m) => Date.parse(m.at) >= startMs && Date.parse(m.at) < endMs);
}

function params(zone: string, storeText = true): Params {
  const p = structuredClone(defaultParams());
  p.chat.timezone = zone;
  p.ingest.store_text = storeText;
  return p;
}

// Rows over ten days, not in time order, with multi-line quoted texts, tabs, quotes, empty texts
// (media), offsets other than +00:00 and a CRLF line: what all_messages.csv holds.
function sampleTsv(): string {
  const rows = ['datetime\tuser_id\ttext'];
  for (let i = 0; i < 400; i++) {
    const ms = Date.parse('2024-03-25T00:00:00Z') + ((i * 7919) % 400) * 2_160_000;
    const at = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    const text = i % 9 === 0 ? '' : i % 5 === 0 ? `"строка ${i}\nещё одна с ""кавычками"" и\tтабом"` : `текст ${i}`;
    rows.push(`${at}+00:00\t${i % 13}\t${text}`);
  }
  rows.push('2024-03-29 23:30:00-05:30\t7\tсо смещением');
  rows.push('2024-03-30 05:00:00+05:45\t8\tкатманду\r');
  return rows.join('\n') + '\n';
}

describe('TSV source: an index instead of the whole file per day', () => {
  it.each(['UTC', 'Asia/Kathmandu', 'America/St_Johns'])('gives every day the messages the whole-file read gave (%s)', async (zone) => {
    const dir = await tempDir();
    const file = join(dir, 'all_messages.csv');
    const content = sampleTsv();
    await writeFile(file, content);
    let total = 0;
    for (const day of daysFrom('2024-03-23', '2024-04-06')) {
      const got = await readDay({ kind: 'tsv', file }, day, params(zone), join(dir, 'state'));
      const want = before(content, file, day, zone, true);
      expect(got, day).toEqual(want);
      expect(formatPartition(got)).toBe(formatPartition(want));
      total += got.length;
    }
    expect(total).toBe(parseMessagesTsv(content, file).length);
  });

  it('reads the small fixture (BOM-free, multi-line quotes) the same way, with and without texts', async () => {
    const file = join(FIXTURES, 'messages-small.tsv');
    const content = await readFile(file, 'utf8');
    const dir = await tempDir();
    for (const storeText of [true, false]) {
      for (const day of ['2024-03-30', '2024-03-31']) {
        expect(await readDay({ kind: 'tsv', file }, day, params('Europe/Moscow', storeText), dir)).toEqual(before(content, file, day, 'Europe/Moscow', storeText));
      }
    }
  });

  it('keeps the index beside the workspace state and reads only the ranges of the day asked for', async () => {
    const dir = await tempDir();
    const file = join(dir, 'all_messages.csv');
    await writeFile(file, sampleTsv());
    const state = join(dir, 'state');
    await readDay({ kind: 'tsv', file }, '2024-03-26', params('UTC'), state);
    const stored = JSON.parse(await readFile(tsvIndexPath(state, file), 'utf8')) as TsvIndex;
    expect(stored).toMatchObject({ version: 1, file, size: (await stat(file)).size });
    expect(Object.keys(stored.days).sort()).toEqual(daysFrom('2024-03-25', '2024-04-03'));
    const { messages, ranges } = await readTsvDay(file, '2024-03-27', 'UTC', true, state);
    // Exactly the indexed ranges of that UTC day, nothing else of the file.
    expect(ranges).toEqual(stored.days['2024-03-27']);
    const bytes = ranges.reduce((sum, [start, end]) => sum + end - start, 0);
    expect(bytes).toBeLessThan(stored.size / 5);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => m.at.startsWith('2024-03-27'))).toBe(true);
    // A chat day off UTC reads the two UTC days it overlaps.
    const kathmandu = await readTsvDay(file, '2024-03-27', 'Asia/Kathmandu', true, state);
    expect(kathmandu.ranges).toEqual([...stored.days['2024-03-26'], ...stored.days['2024-03-27']].sort((a, b) => a[0] - b[0]));
  });

  it('builds the index again when the file changes (size or mtime), and the changed rows count', async () => {
    const dir = await tempDir();
    const file = join(dir, 'all_messages.csv');
    const state = join(dir, 'state');
    const content = sampleTsv();
    await writeFile(file, content);
    expect(await readDay({ kind: 'tsv', file }, '2024-04-04', params('UTC'), state)).toEqual([]);
    const first = await tsvIndex(file, state);
    await writeFile(file, `${content}2024-04-04 10:00:00+00:00\t5\tпозже\n`);
    const later = await readDay({ kind: 'tsv', file }, '2024-04-04', params('UTC'), state);
    expect(later).toEqual([{ id: null, at: '2024-04-04T10:00:00Z', sender: '5', kind: 'text', reply_to: null, text: 'позже' }]);
    const second = JSON.parse(await readFile(tsvIndexPath(state, file), 'utf8')) as TsvIndex;
    expect(second.size).toBeGreaterThan(first.size);
    expect(second.days['2024-04-04']).toHaveLength(1);
    // Same size, other bytes, another mtime: still noticed.
    const swapped = (await readFile(file, 'utf8')).replace('позже', 'ПОЗЖЕ');
    await writeFile(file, swapped);
    const when = new Date(Date.now() + 5_000);
    await utimes(file, when, when);
    expect((await readDay({ kind: 'tsv', file }, '2024-04-04', params('UTC'), state))[0].text).toBe('ПОЗЖЕ');
    expect((await tsvIndex(file, state)).mtimeMs).toBe((await stat(file)).mtimeMs);
  });

  it('reports a bad row, a broken quote or a wrong header on any day, as the whole-file read did, and keeps no index', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const wholeFileError = (content: string, file: string) => {
      try {
        parseMessagesTsv(content, file);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected the whole-file read to fail');
    };
    const header = join(dir, 'header.tsv');
    await writeFile(header, 'when\tuser_id\ttext\n2024-03-30 22:15:00+00:00\t1\thi\n');
    const late = join(dir, 'late.tsv');
    // The bad row is days after the day asked for, and a quote error after it still comes first.
    await writeFile(late, `${sampleTsv()}2024-04-20 10:00:00+00:00\tanna\tx\n2024-04-21 10:00:00+00:00\t1\t"open\n`);
    const lateUser = join(dir, 'late-user.tsv');
    await writeFile(lateUser, `${sampleTsv()}2024-04-20 10:00:00+00:00\tanna\tx\n2024-04-21 10:00:00+00:00\t1\t31 февраля\n`);
    for (const file of [join(FIXTURES, 'messages-bad-date.tsv'), join(FIXTURES, 'messages-bad-quote.tsv'), header, late, lateUser]) {
      const want = wholeFileError(await readFile(file, 'utf8'), file);
      for (const day of ['2024-03-26', '2024-03-31']) {
        await expect(readDay({ kind: 'tsv', file }, day, params('UTC'), state)).rejects.toMatchObject({ code: 'INPUT', message: want });
      }
      await expect(stat(tsvIndexPath(state, file))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    await expect(readDay({ kind: 'tsv', file: join(dir, 'none.tsv') }, '2024-03-26', params('UTC'), state)).rejects.toThrow(/^Missing TSV source ".*none\.tsv": expected a tab-separated file/);
  });
});

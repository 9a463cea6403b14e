import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importedPartition } from '../../tasks/commands/ingest.js';
import { dayBounds } from '../../tasks/core/dates.js';
import { exportEdited, exportMessage, mergeRepeat, type ExportEntry } from '../../tasks/core/export.js';
import { formatPartition, type Message } from '../../tasks/core/messages.js';
import { byDay } from '../../tasks/core/telegram.js';
import { importExport, readImportedDay } from '../../tasks/io/export.js';
import { FIXTURES, tempDir } from '../helpers.js';

// importExport must give what reading the whole export into one Map gave (the code it replaced), with
// the file never held in memory: `reference` is that old algorithm, run on JSON.parse of the file.
const NOW = Date.parse('2024-06-01T00:00:00Z');
const ZONE = 'Asia/Kathmandu'; // +05:45: chat days do not start at a UTC midnight
const DAY = '2024-04-30';
const END = dayBounds(DAY, ZONE).endMs;
type Item = Record<string, unknown> & { id: number };

function reference(file: string, text: string): { partitions: Map<string, string>; total: number; kept: number } {
  const data = JSON.parse(text) as { messages: unknown[] };
  const seen = new Map<number, ExportEntry>();
  data.messages.forEach((value, index) => {
    const entry: ExportEntry = { message: exportMessage(value, index, file, true, NOW), index, edited: exportEdited(value) };
    const kept = seen.get(entry.message.id as number);
    seen.set(entry.message.id as number, kept ? mergeRepeat(kept, entry, file) : entry);
  });
  const kept = [...seen.values()].map((e) => e.message).filter((m) => Date.parse(m.at) < END);
  const partitions = new Map([...byDay(kept, ZONE)].map(([day, list]) => [day, formatPartition(list)]));
  return { partitions, total: seen.size, kept: kept.length };
}

const item = (id: number, unix: number, extra: Record<string, unknown> = {}): Item => ({
  id,
  type: 'message',
  date: 'x',
  date_unixtime: String(unix),
  from: 'Анна',
  from_id: `user${100 + (id % 7)}`,
  text: `сообщение ${id}`,
  text_entities: [],
  ...extra,
});

async function writeExport(dir: string, name: string, messages: unknown[], indent?: number): Promise<{ file: string; text: string }> {
  const file = join(dir, name);
  const text = JSON.stringify({ name: 'Чат', type: 'private_supergroup', id: 1234567890, messages }, null, indent);
  await writeFile(file, text);
  return { file, text };
}

async function run(file: string, scratch: string) {
  return importExport(file, { storeText: true, zone: ZONE, endMs: END, scratch, nowMs: NOW });
}

async function expectSameAsReference(file: string, text: string, scratch: string) {
  const want = reference(file, text);
  const got = await run(file, scratch);
  expect(got.total).toBe(want.total);
  expect(got.kept).toBe(want.kept);
  const days = (await readdir(got.dir)).filter((d) => d <= DAY).sort();
  expect(days).toEqual([...want.partitions.keys()].sort());
  for (const day of days) expect(importedPartition(readImportedDay(got, day)), day).toBe(want.partitions.get(day));
  return got;
}

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('importExport: bounded-memory import with the old results', () => {
  const start = Date.parse('2024-04-01T00:00:00Z') / 1000;

  it('gives the partitions of the in-memory import for ids in file order (the fast path), pretty-printed or not', async () => {
    const dir = await tempDir();
    // 3000 messages in a few days (several spill flushes per day file), some sent after DAY; texts
    // with brackets, quotes, backslashes and escapes that a scanner of JSON must not be fooled by.
    const texts = ['a } ] { [ "b"', 'слэш \\ и \\"кавычка\\"', '\\\\', '\u2028 \n\t', [{ type: 'bold', text: '}' }, ' ok']];
    const messages = Array.from({ length: 3000 }, (_, i) => item(i + 1, start + i * 900, { text: texts[i % texts.length], reply_to_message_id: i > 0 ? i : undefined }));
    for (const indent of [undefined, 1]) {
      const { file, text } = await writeExport(dir, `plain-${indent}.json`, messages, indent);
      const got = await expectSameAsReference(file, text, join(dir, `scratch-${indent}`));
      expect(got.later).toBeGreaterThan(0);
    }
  });

  it('merges repeated ids across id ranges, day files and spill flushes as mergeRepeat does (the repeat pass)', async () => {
    const dir = await tempDir();
    const messages: Item[] = [];
    // 2500 messages in under a day: each day file and id-range file is flushed several times (64 KB).
    for (let i = 0; i < 2500; i++) messages.push(item(60_000 + i * 7, start + i * 30));
    // Repeats far from their first copy, in other id ranges (65536 ids a range), one kept by its newer
    // edit, one by being the later copy, one in three copies, and ids out of order.
    const base = (id: number) => messages.find((m) => m.id === id)!;
    messages.push({ ...base(65_535 - (65_535 - 60_000) % 7), text: 'правка', edited_unixtime: String(start + 999_999) });
    messages.splice(10, 0, { ...base(60_000 + 7 * 2000), text: 'первая копия' });
    messages.push({ ...base(60_000 + 7 * 2000), text: 'третья копия' });
    messages.push({ ...base(60_000 + 7 * 1000), text: 'старая правка', edited_unixtime: '0' });
    messages.push(item(5, start + 50), item(131_072, start + 60));
    const { file, text } = await writeExport(dir, 'repeats.json', messages, 1);
    await expectSameAsReference(file, text, join(dir, 'scratch'));
  });

  it('reports the first problem in file order: a clashing repeat before a bad item, the bad item before a later clash', async () => {
    const dir = await tempDir();
    const clash = (id: number) => item(id, start + 77_777);
    const bad = item(50, start, { date_unixtime: '0' });
    for (const [name, messages] of [
      ['clash-first', [item(1, start), item(2, start + 5), clash(1), item(3, start + 9), bad]],
      ['bad-first', [item(1, start), bad, item(2, start + 5), clash(1)]],
      ['clash-later-range', [item(70_000, start), item(1, start + 1), item(2, start + 2), clash(2), clash(70_000)]],
    ] as const) {
      const { file, text } = await writeExport(dir, `${name}.json`, messages as unknown as Item[]);
      const want = await errorOf(() => reference(file, text));
      const got = await errorOf(run(file, join(dir, name)));
      expect(got.message).toBe(want.message);
      expect(got).toMatchObject({ code: 'INPUT' });
    }
  });

  it('says what stream-json said of a file that is not plain JSON (truncated, "messages" no array)', async () => {
    const dir = await tempDir();
    const truncated = await errorOf(run(join(FIXTURES, 'telegram-export', 'result-truncated.json'), join(dir, 'a')));
    expect(truncated.message).toMatch(/result-truncated\.json: not well-formed JSON \(.+\); expected a Telegram Desktop export in JSON format/);
    const file = join(dir, 'object.json');
    await writeFile(file, JSON.stringify({ id: 1, type: 'private_group', messages: { a: 1 } }));
    const notArray = await errorOf(run(file, join(dir, 'b')));
    expect(notArray.message).toMatch(/object\.json: not well-formed JSON/);
  });

  it('leaves nothing but the day files in its scratch folder: every distinct message once', async () => {
    const dir = await tempDir();
    const file = join(FIXTURES, 'telegram-export', 'result.json');
    const got = await importExport(file, { storeText: false, zone: 'UTC', endMs: Date.parse('2024-04-01T00:00:00Z'), scratch: join(dir, 's'), nowMs: NOW });
    expect(await readdir(join(dir, 's'))).toEqual(['days']);
    expect(got.total).toBe(14);
    expect(got.kept + got.later).toBe(14);
    const lines = (await readdir(got.dir)).flatMap((d) => readImportedDay(got, d));
    expect(lines.length).toBe(got.total);
    expect(JSON.parse(lines[0].json) as Message).toHaveProperty('kind');
  });
});

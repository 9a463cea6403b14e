import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { checkTsvHeader, TSV_PARSE_OPTIONS, tsvRecordMessage, tsvSyntaxError, type Message } from '../core/messages.js';
import { simulateDay } from '../core/simulate.js';
import { dayBounds } from '../core/dates.js';
import type { Source } from '../core/sources.js';
import type { Params } from '../core/params.js';
import { exists, readText, writeFiles } from './files.js';
import { ChatcastError } from '../core/errors.js';

// Where a TSV source's records lie, per UTC day: byte ranges [start, end) of whole records and the line
// each range starts on. Built by reading the file once; valid while the file keeps its size and mtime.
const tsvIndexSchema = z.object({
  version: z.literal(1),
  file: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  delimiter: z.enum(['\n', '\r\n', '\r']), // the record delimiter csv-parse found first, for every range
  days: z.record(z.string(), z.array(z.tuple([z.number(), z.number(), z.number()]))),
});
// The byte ranges of a TSV source's records per UTC day (see tsvIndexSchema).
export type TsvIndex = z.infer<typeof tsvIndexSchema>;

const indexes = new Map<string, TsvIndex>();

// Where the index of a TSV source is kept: the workspace's private folder, one file per source path.
export function tsvIndexPath(stateDir: string, file: string): string {
  return join(stateDir, `tsv-index-${createHash('sha256').update(file).digest('hex').slice(0, 16)}.json`);
}

// Reads the whole TSV once as a stream, checking every record as parseMessagesTsv does (the same error
// for the same bad file: a syntax error anywhere first, then the header, then the first bad row), and
// notes where each UTC day's records lie. Memory holds the index only, never the rows.
async function buildTsvIndex(file: string, size: number, mtimeMs: number): Promise<TsvIndex> {
  const days: Record<string, [number, number, number][]> = {};
  let header: string[] | undefined;
  let previousEnd = 0;
  let previousBytes = 0;
  let rowError: unknown;
  let last: [number, number, number] | undefined;
  let lastDay = '';
  let delimiter: TsvIndex['delimiter'] = '\n';
  try {
    const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parseStream(TSV_PARSE_OPTIONS));
    // csv-parse takes the first line end it meets for the whole file; a range read alone must use it too.
    const detected = () => (parser as unknown as { options: { record_delimiter: Buffer[] } }).options.record_delimiter[0]?.toString();
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
      const start = previousBytes;
      previousBytes = info.bytes;
      if (header === undefined) {
        header = record;
        previousEnd = info.lines;
        continue;
      }
      const line = previousEnd + 1;
      previousEnd = info.lines;
      if (rowError !== undefined) continue;
      let at: string;
      try {
        at = tsvRecordMessage(record, line, file, false).at;
      } catch (error) {
        rowError = error;
        continue;
      }
      const day = at.slice(0, 10);
      if (last && lastDay === day && last[1] === start) last[1] = info.bytes;
      else {
        last = [start, info.bytes, line];
        lastDay = day;
        (days[day] ??= []).push(last);
      }
    }
    const found = detected();
    if (found === '\r\n' || found === '\r') delimiter = found;
  } catch (error) {
    throw tsvSyntaxError(file, error);
  }
  checkTsvHeader(header, file);
  if (rowError !== undefined) throw rowError;
  return { version: 1, file, size, mtimeMs, delimiter, days };
}

// The index of a TSV source: from memory, else from `stateDir` when the file has not changed since, else
// built now (and saved there).
export async function tsvIndex(file: string, stateDir?: string): Promise<TsvIndex> {
  if (!(await exists(file))) {
    // Source data the user named, not an artifact of an earlier step: bad input (exit 4).
    throw new ChatcastError('INPUT', `Missing TSV source "${file}": expected a tab-separated file of messages (the original system's all_messages.csv)`);
  }
  const { size, mtimeMs } = await stat(file);
  const fresh = (index: TsvIndex | undefined) => index !== undefined && index.file === file && index.size === size && index.mtimeMs === mtimeMs;
  const cached = indexes.get(file);
  if (fresh(cached)) return cached!;
  const path = stateDir ? tsvIndexPath(stateDir, file) : undefined;
  if (path && (await exists(path))) {
    let stored: TsvIndex | undefined;
    try {
      stored = tsvIndexSchema.parse(JSON.parse(await readText(path, 'TSV index')));
    } catch {
      stored = undefined; // a damaged index is only a cache: built again below
    }
    if (fresh(stored)) {
      indexes.set(file, stored!);
      return stored!;
    }
  }
  const built = await buildTsvIndex(file, size, mtimeMs);
  if (path) await writeFiles([{ path, data: JSON.stringify(built) }]);
  indexes.set(file, built);
  return built;
}

// The records of one chat day of a TSV source, read through its index: only the byte ranges of the UTC
// days the chat day touches are read. Returns the messages in file order and the ranges read.
export async function readTsvDay(file: string, day: string, zone: string, storeText: boolean, stateDir?: string): Promise<{ messages: Message[]; ranges: [number, number, number][] }> {
  const index = await tsvIndex(file, stateDir);
  const { startMs, endMs } = dayBounds(day, zone);
  const ranges: [number, number, number][] = [];
  for (let ms = Date.UTC(...utcParts(startMs)); ms < endMs; ms += 86_400_000) {
    ranges.push(...(index.days[new Date(ms).toISOString().slice(0, 10)] ?? []));
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const messages: Message[] = [];
  if (ranges.length === 0) return { messages, ranges };
  const handle = await open(file, 'r');
  try {
    for (const [start, end, firstLine] of ranges) {
      const bytes = Buffer.alloc(end - start);
      await handle.read(bytes, 0, bytes.length, start);
      let rows: { record: string[]; info: { lines: number } }[];
      try {
        rows = parse(bytes, { ...TSV_PARSE_OPTIONS, bom: false, record_delimiter: index.delimiter }) as unknown as typeof rows;
      } catch (error) {
        throw tsvSyntaxError(file, error);
      }
      let line = firstLine;
      for (const { record, info } of rows) {
        const message = tsvRecordMessage(record, line, file, storeText);
        line = firstLine + info.lines;
        const ms = Date.parse(message.at);
        if (ms >= startMs && ms < endMs) messages.push(message);
      }
    }
  } finally {
    await handle.close();
  }
  return { messages, ranges };
}

function utcParts(ms: number): [number, number, number] {
  const d = new Date(ms);
  return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
}

// The messages of one chat day from a day-at-a-time source; `file` paths are already absolute here.
// `stateDir` (the workspace's private folder) keeps a TSV source's index between runs.
export async function readDay(source: Extract<Source, { kind: 'simulate' | 'tsv' }>, day: string, params: Params, stateDir?: string): Promise<Message[]> {
  const zone = params.chat.timezone;
  if (source.kind === 'simulate') return simulateDay(day, zone, params.ingest.simulate, params.ingest.store_text);
  return (await readTsvDay(source.file, day, zone, params.ingest.store_text, stateDir)).messages;
}

import { appendFileSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { dayBounds, dayOf } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { exportChatId, exportEdited, exportMessage, mergeRepeat, type ExportEntry } from '../core/export.js';

function unreadable(file: string, error: unknown): ChatcastError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ChatcastError('INPUT', `Missing Telegram export "${file}": expected the result.json of a Telegram Desktop chat export (JSON format)`, { cause: error });
  if (error instanceof ChatcastError) return error;
  return new ChatcastError('INPUT', `Invalid ${file}: not well-formed JSON (${(error as Error).message.split('\n')[0]}); expected a Telegram Desktop export in JSON format`, { cause: error });
}

// The chat id at the top of result.json, read without parsing the messages (it comes first).
export async function readExportChatId(file: string): Promise<string> {
  const header: { id?: unknown; type?: unknown } = {};
  const stop = new AbortController();
  try {
    await pipeline(
      createReadStream(file),
      pick.withParserAsStream({ filter: (stack: readonly unknown[]) => stack.length === 1 && (stack[0] === 'id' || stack[0] === 'type') }),
      streamValues.asStream(),
      async function* (values: AsyncIterable<{ value: unknown }>) {
        for await (const { value } of values) {
          if (typeof value === 'number') header.id = value;
          else header.type = value;
          if (header.id !== undefined && header.type !== undefined) stop.abort();
        }
      },
      { signal: stop.signal },
    );
  } catch (error) {
    if (!stop.signal.aborted) throw unreadable(file, error);
  }
  return exportChatId(header, file);
}

// The export has a shape the fast scanner does not follow (a BOM, a syntax error, "messages" twice or
// not an array): the file is read again with stream-json, which says exactly what is wrong.
class Unusual extends Error {}

const WS = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

// Finds the items of the top-level "messages" array in a byte stream and parses each with JSON.parse:
// much faster than a token-by-token parser, and only one item is ever held. Every other top-level value
// is parsed too, so a file it accepts is well-formed JSON; anything unusual throws Unusual.
class ItemScanner {
  private buf = '';
  private pos = 0;
  private state: 'top' | 'key' | 'colon' | 'value' | 'afterValue' | 'array' | 'item' | 'afterItem' | 'done' = 'top';
  private first = true;
  private key = '';
  private seenMessages = false;
  // The value being scanned: where it starts, how far it was scanned, its nesting and string state.
  private vStart = -1;
  private vPos = 0;
  private depth = 0;
  private inString = false;
  index = 0;

  constructor(private readonly onItem: (value: unknown, index: number) => void) {}

  // Takes the next piece of the file, decoded (a StringDecoder never splits a character).
  feed(chunk: string): void {
    const keep = this.vStart >= 0 ? this.vStart : this.pos;
    this.buf = keep < this.buf.length ? this.buf.slice(keep) + chunk : chunk;
    this.pos -= keep;
    if (this.vStart >= 0) {
      this.vPos -= keep;
      this.vStart = 0;
    }
    this.run(false);
  }

  end(): void {
    this.run(true);
    if (this.state !== 'done' || this.vStart >= 0) throw new Unusual('the file ends early');
  }

  private run(atEnd: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    for (;;) {
      if (this.vStart < 0) {
        while (this.pos < n && WS(buf.charCodeAt(this.pos))) this.pos++;
        if (this.pos >= n) return;
      }
      const b = buf.charCodeAt(this.pos);
      switch (this.state) {
        case 'top':
          if (b !== 0x7b) throw new Unusual('not an object');
          this.pos++;
          this.state = 'key';
          this.first = true;
          continue;
        case 'key':
          if (b === 0x7d && this.first && this.vStart < 0) {
            this.pos++;
            this.state = 'done';
            continue;
          }
          if (this.vStart < 0 && b !== 0x22) throw new Unusual('a key expected');
          {
            const value = this.scanValue(atEnd);
            if (value === undefined) return;
            if (typeof value !== 'string') throw new Unusual('a key expected');
            this.key = value;
          }
          this.state = 'colon';
          continue;
        case 'colon':
          if (b !== 0x3a) throw new Unusual('":" expected');
          this.pos++;
          if (this.key === 'messages') {
            if (this.seenMessages) throw new Unusual('"messages" twice');
            this.seenMessages = true;
            this.state = 'array';
          } else this.state = 'value';
          continue;
        case 'value': {
          if (this.scanValue(atEnd) === undefined) return;
          this.state = 'afterValue';
          continue;
        }
        case 'afterValue':
          this.pos++;
          if (b === 0x2c) {
            this.state = 'key';
            this.first = false;
          } else if (b === 0x7d) this.state = 'done';
          else throw new Unusual('"," or "}" expected');
          continue;
        case 'array':
          if (b !== 0x5b) throw new Unusual('"messages" is no array');
          this.pos++;
          this.state = 'item';
          this.first = true;
          continue;
        case 'item': {
          if (b === 0x5d && this.first && this.vStart < 0) {
            this.pos++;
            this.state = 'afterValue';
            continue;
          }
          const value = this.scanValue(atEnd);
          if (value === undefined) return;
          this.onItem(value, this.index++);
          this.state = 'afterItem';
          continue;
        }
        case 'afterItem':
          this.pos++;
          if (b === 0x2c) {
            this.state = 'item';
            this.first = false;
          } else if (b === 0x5d) this.state = 'afterValue';
          else throw new Unusual('"," or "]" expected');
          continue;
        case 'done':
          throw new Unusual('text after the end');
      }
    }
  }

  // Scans one JSON value from pos and parses it; undefined when the buffer ends first (scanned again,
  // from where it stopped, once more arrives).
  private scanValue(atEnd: boolean): unknown {
    const buf = this.buf;
    const n = buf.length;
    if (this.vStart < 0) {
      this.vStart = this.pos;
      this.vPos = this.pos;
      this.depth = 0;
      this.inString = false;
    }
    let p = this.vPos;
    let depth = this.depth;
    let inString = this.inString;
    const opener = buf.charCodeAt(this.vStart);
    let end = -1;
    if (opener === 0x7b || opener === 0x5b || opener === 0x22) {
      while (p < n) {
        const c = buf.charCodeAt(p);
        if (inString) {
          if (c === 0x5c) {
            if (p + 1 >= n) break; // the escaped byte is in the next chunk: resume at the backslash
            p += 2;
            continue;
          }
          p++;
          if (c === 0x22) {
            inString = false;
            if (depth === 0) {
              end = p;
              break;
            }
          }
          continue;
        }
        p++;
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          if (--depth === 0) {
            end = p;
            break;
          }
        }
      }
    } else {
      while (p < n) {
        const c = buf.charCodeAt(p);
        if (c === 0x2c || c === 0x5d || c === 0x7d || WS(c)) {
          end = p;
          break;
        }
        p++;
      }
      if (end < 0 && atEnd) end = n;
    }
    if (end < 0) {
      this.vPos = p;
      this.depth = depth;
      this.inString = inString;
      if (atEnd) throw new Unusual('the file ends inside a value');
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(buf.slice(this.vStart, end));
    } catch {
      throw new Unusual('not well-formed');
    }
    this.pos = end;
    this.vStart = -1;
    return value;
  }
}

// Reads the items of "messages" with the fast scanner; Unusual when stream-json has to decide.
async function scanFast(file: string, onItem: (value: unknown, index: number) => void, onChunk: (bytes: number) => void): Promise<void> {
  const scanner = new ItemScanner(onItem);
  const decoder = new StringDecoder('utf8');
  const source = createReadStream(file, { highWaterMark: 1 << 18 });
  try {
    for await (const chunk of source) {
      onChunk((chunk as Buffer).length);
      scanner.feed(decoder.write(chunk as Buffer));
    }
  } finally {
    source.destroy();
  }
  scanner.feed(decoder.end());
  scanner.end();
}

// Reads the items of "messages" with stream-json, as chatcast always did: its errors are the file's.
async function scanStreamJson(file: string, onItem: (value: unknown, index: number) => void, onChunk: (bytes: number) => void): Promise<void> {
  const source = createReadStream(file);
  source.on('data', (chunk) => onChunk(chunk.length));
  try {
    await pipeline(
      source,
      pick.withParserAsStream({ filter: 'messages' }),
      streamArray.asStream(),
      async function* (items: AsyncIterable<{ key: number; value: unknown }>) {
        for await (const { key, value } of items) onItem(value, key);
      },
    );
  } catch (error) {
    throw unreadable(file, error);
  }
}

// Append-only spill files in one folder, buffered in memory up to a bound (one file per key).
class Spill {
  private buffers = new Map<string, string[]>();
  private sizes = new Map<string, number>();
  private total = 0;
  constructor(readonly dir: string, private readonly perFile = 1 << 16, private readonly allFiles = 1 << 22) {}

  add(key: string, line: string): void {
    let list = this.buffers.get(key);
    if (!list) {
      list = [];
      this.buffers.set(key, list);
    }
    list.push(line);
    const size = (this.sizes.get(key) ?? 0) + line.length;
    this.sizes.set(key, size);
    this.total += line.length;
    if (size >= this.perFile) this.flushOne(key);
    else if (this.total >= this.allFiles) this.flush();
  }

  private flushOne(key: string): void {
    const list = this.buffers.get(key);
    if (!list || list.length === 0) return;
    appendFileSync(join(this.dir, key), list.join(''));
    this.total -= this.sizes.get(key) ?? 0;
    this.buffers.delete(key);
    this.sizes.delete(key);
  }

  flush(): void {
    for (const key of [...this.buffers.keys()]) this.flushOne(key);
  }

  keys(): string[] {
    this.flush();
    return readdirSync(this.dir).sort();
  }
}

// Calls `onLine` for every line of a spill file (false stops), a megabyte at a time, cut at line ends
// only, so a multi-byte character is never split (JSON.stringify leaves no raw newline inside a line).
function eachLineBytes(path: string, onLine: (line: string) => boolean | void): void {
  const fd = openSync(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      const last = data.lastIndexOf(0x0a);
      if (last < 0) {
        carry = Buffer.from(data);
        continue;
      }
      const text = data.toString('utf8', 0, last);
      carry = Buffer.from(data.subarray(last + 1));
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
        if (onLine(line) === false) return;
        if (nl < 0) break;
        start = nl + 1;
      }
    }
  } finally {
    closeSync(fd);
  }
}

// The chat day of an instant, remembered per quarter hour (zone offsets move in quarter hours) and
// for the day last seen, since dayOf asks Intl and an export has millions of instants.
function dayLookup(zone: string): (ms: number) => string {
  let last = { day: '', startMs: 0, endMs: 0 };
  const slots = new Map<number, string>();
  const SLOT = 900_000;
  return (ms) => {
    if (ms >= last.startMs && ms < last.endMs) return last.day;
    const slot = Math.floor(ms / SLOT);
    const known = slots.get(slot);
    if (known !== undefined) return known;
    const day = dayOf(ms, zone);
    last = { day, ...dayBounds(day, zone) };
    if (slot * SLOT >= last.startMs && (slot + 1) * SLOT <= last.endMs && slots.size < 1 << 20) slots.set(slot, day);
    return day;
  };
}

// How many ids share one spill file of the repeat pass: its copies are what sits in memory at once.
const IDS_PER_BUCKET = 1 << 16;

// What an import found, with the messages of each day waiting in spill files (readImportedDay); the
// counts are of distinct messages.
export interface ImportedExport {
  total: number; // distinct messages in the file
  kept: number; // distinct messages sent before `endMs`
  later: number; // distinct messages sent on or after `endMs`
  firstMs?: number; // the earliest kept message
  maxId: number; // the highest id kept
  dir: string; // the folder of the day spills
}

// Reads a Telegram Desktop export in bounded memory, checking each message (core/export.ts), and leaves
// its messages in per-day spill files under `scratch`, once per id. Each message goes to the file of its
// chat day as it is read. When the ids only ever grow (Telegram Desktop writes them so) no id can repeat
// and that is all; otherwise a second pass puts the messages of each id range together (in file order),
// merges repeats as mergeRepeat says and writes the day files again. The errors are those of reading
// the whole file at once: the first bad item or clashing repeat in file order wins.
export async function importExport(
  file: string,
  options: { storeText: boolean; zone: string; endMs: number; scratch: string; nowMs?: number; onProgress?: (bytesRead: number, totalBytes: number) => void },
): Promise<ImportedExport> {
  const nowMs = options.nowMs ?? Date.now();
  const size = await stat(file).then((s) => s.size, (error) => { throw unreadable(file, error); });
  const dayOfMs = dayLookup(options.zone);
  const byDay = join(options.scratch, 'days');
  const fresh = (dir: string) => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return new Spill(dir);
  };
  const count = (result: ImportedExport, id: number, at: number) => {
    result.total++;
    const ms = at * 1000;
    if (ms >= options.endMs) {
      result.later++;
      return;
    }
    result.kept++;
    if (result.firstMs === undefined || ms < result.firstMs) result.firstMs = ms;
    if (id > result.maxId) result.maxId = id;
  };
  const pass = async (scan: typeof scanFast) => {
    const days = fresh(byDay);
    const result: ImportedExport = { total: 0, kept: 0, later: 0, maxId: 0, dir: byDay };
    let read = 0;
    let seen = 0;
    let lastId = 0;
    let increasing = true;
    let failure: unknown;
    try {
      await scan(
        file,
        (value, index) => {
          const message = exportMessage(value, index, file, options.storeText, nowMs);
          const id = message.id as number;
          const at = Number((value as { date_unixtime: string }).date_unixtime);
          if (id <= lastId) increasing = false;
          else lastId = id;
          days.add(dayOfMs(at * 1000), `${at}\t${id}\t${index}\t${exportEdited(value)}\t${JSON.stringify(message)}\n`);
          count(result, id, at);
          seen = index + 1;
        },
        (bytes) => {
          read += bytes;
          options.onProgress?.(read, size);
        },
      );
    } catch (error) {
      if (error instanceof Unusual) throw error;
      failure = error;
    }
    days.flush();
    return { days, result, failure, seen, increasing };
  };
  let first;
  try {
    first = await pass(scanFast);
  } catch (error) {
    if (!(error instanceof Unusual)) throw error;
    first = await pass(scanStreamJson);
  }
  const { days, failure, seen, increasing } = first;
  if (increasing) {
    if (failure) throw failure;
    return first.result;
  }
  // Some id came again or out of order: gather each id range's messages (from every day) in one file.
  const ids = fresh(join(options.scratch, 'ids'));
  for (const day of days.keys()) {
    eachLineBytes(join(byDay, day), (line) => {
      const t1 = line.indexOf('\t');
      const id = Number(line.slice(t1 + 1, line.indexOf('\t', t1 + 1)));
      ids.add(String(Math.floor(id / IDS_PER_BUCKET)).padStart(8, '0'), `${line}\n`);
    });
  }
  const merged = fresh(byDay);
  const result: ImportedExport = { total: 0, kept: 0, later: 0, maxId: 0, dir: byDay };
  let conflict: { index: number; error: unknown } | undefined;
  for (const bucket of ids.keys()) {
    const copies: { at: number; id: number; index: number; edited: number; json: string }[] = [];
    eachLineBytes(join(ids.dir, bucket), (line) => {
      const t1 = line.indexOf('\t');
      const t2 = line.indexOf('\t', t1 + 1);
      const t3 = line.indexOf('\t', t2 + 1);
      const t4 = line.indexOf('\t', t3 + 1);
      copies.push({ at: Number(line.slice(0, t1)), id: Number(line.slice(t1 + 1, t2)), index: Number(line.slice(t2 + 1, t3)), edited: Number(line.slice(t3 + 1, t4)), json: line.slice(t4 + 1) });
    });
    copies.sort((a, b) => a.index - b.index);
    const entries = new Map<number, (typeof copies)[number]>();
    const asEntry = (e: (typeof copies)[number]): ExportEntry => ({ message: JSON.parse(e.json), index: e.index, edited: e.edited });
    let clash: { index: number; error: unknown } | undefined;
    for (const copy of copies) {
      const kept = entries.get(copy.id);
      if (!kept) {
        entries.set(copy.id, copy);
        continue;
      }
      try {
        entries.set(copy.id, mergeRepeat(asEntry(kept), asEntry(copy), file).index === copy.index ? copy : kept);
      } catch (error) {
        clash = { index: copy.index, error };
        break;
      }
    }
    if (clash && (!conflict || clash.index < conflict.index)) conflict = clash;
    if (conflict || failure) continue;
    for (const entry of entries.values()) {
      merged.add(dayOfMs(entry.at * 1000), `${entry.at}\t${entry.id}\t${entry.index}\t${entry.edited}\t${entry.json}\n`);
      count(result, entry.id, entry.at);
    }
  }
  rmSync(ids.dir, { recursive: true, force: true });
  // The first problem in file order: a repeat that clashes before the item that failed, else that item.
  if (conflict && (!failure || conflict.index < seen)) throw conflict.error;
  if (failure) throw failure;
  merged.flush();
  return result;
}

// One day's messages of an import, as partition lines (JSON of each message) with their instant in Unix
// seconds and id: the order formatPartition gives them is (at, id).
export function readImportedDay(imported: ImportedExport, day: string): { at: number; id: number; json: string }[] {
  const path = join(imported.dir, day);
  const out: { at: number; id: number; json: string }[] = [];
  if (!existsSync(path)) return out;
  eachLineBytes(path, (line) => {
    const t1 = line.indexOf('\t');
    const t2 = line.indexOf('\t', t1 + 1);
    const t4 = line.indexOf('\t', line.indexOf('\t', t2 + 1) + 1);
    out.push({ at: Number(line.slice(0, t1)), id: Number(line.slice(t1 + 1, t2)), json: line.slice(t4 + 1) });
  });
  return out;
}

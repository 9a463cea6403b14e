import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { ChatcastError } from '../core/errors.js';
import { exportChatId, exportEdited, exportMessage, mergeRepeat, type ExportEntry } from '../core/export.js';
import type { Message } from '../core/messages.js';

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

// Streams the export's messages, checked one by one, with progress in bytes read: years of history
// never sit in memory as one JSON document. A repeated id counts once (core/export.ts mergeRepeat), so
// the messages reach `onMessage` once the whole file is read; returns how many distinct messages.
export async function readExportMessages(
  file: string,
  storeText: boolean,
  onMessage: (message: Message) => void,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
  nowMs = Date.now(),
): Promise<number> {
  const total = await stat(file).then((s) => s.size, (error) => { throw unreadable(file, error); });
  const source = createReadStream(file);
  let read = 0;
  source.on('data', (chunk) => {
    read += chunk.length;
    onProgress?.(read, total);
  });
  const byId = new Map<number, ExportEntry>();
  try {
    await pipeline(
      source,
      pick.withParserAsStream({ filter: 'messages' }),
      streamArray.asStream(),
      async function* (items: AsyncIterable<{ key: number; value: unknown }>) {
        for await (const { key, value } of items) {
          const entry: ExportEntry = { message: exportMessage(value, key, file, storeText, nowMs), index: key, edited: exportEdited(value) };
          const id = entry.message.id as number;
          const kept = byId.get(id);
          byId.set(id, kept ? mergeRepeat(kept, entry, file) : entry);
        }
      },
    );
  } catch (error) {
    throw unreadable(file, error);
  }
  for (const { message } of byId.values()) onMessage(message);
  return byId.size;
}

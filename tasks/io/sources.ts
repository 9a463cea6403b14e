import { parseMessagesTsv, type Message } from '../core/messages.js';
import { simulateDay } from '../core/simulate.js';
import { dayBounds } from '../core/dates.js';
import type { Source } from '../core/sources.js';
import type { Params } from '../core/params.js';
import { exists, readText } from './files.js';
import { ChatcastError } from '../core/errors.js';

const tsvCache = new Map<string, Message[]>();

// The messages of one chat day from a day-at-a-time source; `file` paths are already absolute here.
export async function readDay(source: Extract<Source, { kind: 'simulate' | 'tsv' }>, day: string, params: Params): Promise<Message[]> {
  const zone = params.chat.timezone;
  if (source.kind === 'simulate') return simulateDay(day, zone, params.ingest.simulate, params.ingest.store_text);
  const key = `${source.file}\0${params.ingest.store_text}`;
  let all = tsvCache.get(key);
  if (!all) {
    if (!(await exists(source.file))) {
      // Source data the user named, not an artifact of an earlier step: bad input (exit 4).
      throw new ChatcastError('INPUT', `Missing TSV source "${source.file}": expected a tab-separated file of messages (the original system's all_messages.csv)`);
    }
    const text = await readText(source.file, 'TSV source');
    all = parseMessagesTsv(text, source.file, params.ingest.store_text);
    tsvCache.set(key, all);
  }
  const { startMs, endMs } = dayBounds(day, zone);
  return all.filter((m) => {
    const ms = Date.parse(m.at);
    return ms >= startMs && ms < endMs;
  });
}

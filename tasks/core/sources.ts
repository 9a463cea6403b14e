import { ChatcastError } from './errors.js';
import { codeFor } from './dates.js';

// Where a day's messages come from; each kind is read by tasks/io.
export type Source =
  | { kind: 'simulate' }
  | { kind: 'mtproto' }
  | { kind: 'export'; file: string }
  | { kind: 'tsv'; file: string };

// Parses --source / params.yaml ingest.source; paths stay as written (the caller resolves them).
export function parseSource(value: string, what = '--source'): Source {
  if (value === 'simulate') return { kind: 'simulate' };
  if (value === 'mtproto') return { kind: 'mtproto' };
  if (value.startsWith('export:') && value.length > 7) return { kind: 'export', file: value.slice(7) };
  if (value.startsWith('tsv:') && value.length > 4) return { kind: 'tsv', file: value.slice(4) };
  throw new ChatcastError(
    codeFor(what),
    `Invalid ${what} "${value}": expected simulate, mtproto, export:FILE (Telegram Desktop result.json) or tsv:FILE (the original all_messages.csv)`,
  );
}

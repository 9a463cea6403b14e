import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ChatcastError } from './errors.js';

// What a message is, for counting: media, stickers and service messages count as much as text.
// 'media' is a media message whose exact kind the source does not tell (the original TSV).
export const MESSAGE_KINDS = ['text', 'photo', 'video', 'sticker', 'voice', 'document', 'media', 'service', 'other'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

// One stored message: enough to count and to join replies; the text only when store_text is on.
export interface Message {
  id: number | null;
  at: string; // UTC instant, ISO with Z
  sender: string | null;
  kind: MessageKind;
  reply_to: number | null;
  text?: string;
}

// One line of a partition: the one schema formatPartition writes and parsePartition reads.
const messageSchema = z.object({
  id: z.number().int().nullable(),
  at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'expected a UTC instant like 2024-03-30T23:05:10Z'),
  sender: z.string().nullable(),
  kind: z.enum(MESSAGE_KINDS),
  reply_to: z.number().int().nullable(),
  text: z.string().optional(),
}) satisfies z.ZodType<Message>;
const PARTITION_RULE = 'expected one message per line, a JSON object {"id", "at", "sender", "kind", "reply_to"[, "text"]}';

const TSV_HEADER = ['datetime', 'user_id', 'text'];
const TSV_DATETIME = 'yyyy-MM-dd HH:mm:ssZZ';

// csv-parse's options for all_messages.csv, shared by the whole-file parser and the indexed reader.
export const TSV_PARSE_OPTIONS = { delimiter: '\t', info: true, bom: true, skip_empty_lines: true } as const;

// A csv-parse failure of all_messages.csv, named with its line as chatcast always reported it.
export function tsvSyntaxError(file: string, error: unknown): ChatcastError {
  if (error instanceof ChatcastError) return error;
  const line = (error as { lines?: number }).lines;
  return new ChatcastError(
    'INPUT',
    `Invalid ${file} line ${line ?? '?'}: ${(error as Error).message}; expected tab-separated datetime, user_id, text with "…" around texts that hold tabs, quotes or line breaks`,
    { cause: error },
  );
}

// The header all_messages.csv must start with; `record` is its first record (undefined: an empty file).
export function checkTsvHeader(record: string[] | undefined, file: string): void {
  if (record === undefined || record.join('\t') !== TSV_HEADER.join('\t')) {
    const got = record?.join('\\t') ?? '';
    throw new ChatcastError('INPUT', `Invalid ${file} line 1: header "${got}": expected "${TSV_HEADER.join('\\t')}"`);
  }
}

const FAST_DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;

// UTC ISO of a TSV datetime; the common shape is computed directly (luxon's fromFormat costs ~10 µs a
// row, minutes for millions), anything else goes through luxon, so what is valid or not never changes.
function tsvInstant(datetime: string): string | undefined {
  const m = typeof datetime === 'string' ? FAST_DATETIME.exec(datetime) : null;
  if (m) {
    const [y, mo, d, h, mi, se, oh, om] = [m[1], m[2], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number);
    if (y > 1000 && y < 9999 && mo >= 1 && mo <= 12 && d >= 1 && h <= 23 && mi <= 59 && se <= 59 && oh <= 14 && om <= 59) {
      const local = Date.UTC(y, mo - 1, d, h, mi, se);
      if (new Date(local).getUTCDate() === d) {
        const ms = local - (m[7] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
        return new Date(ms).toISOString().replace('.000Z', 'Z');
      }
    }
  }
  const at = DateTime.fromFormat(datetime, TSV_DATETIME, { setZone: true });
  return at.isValid ? at.toUTC().toISO({ suppressMilliseconds: true })! : undefined;
}

// One record of all_messages.csv (after the header) as a message; `line` is where it starts.
export function tsvRecordMessage(record: string[], line: number, file: string, storeText: boolean): Message {
  const [datetime, userId, text] = record;
  const at = tsvInstant(datetime);
  if (at === undefined) {
    throw new ChatcastError(
      'INPUT',
      `Invalid ${file} line ${line}: datetime "${datetime}": expected YYYY-MM-DD HH:MM:SS+00:00`,
    );
  }
  if (!/^-?\d+$/.test(userId)) {
    throw new ChatcastError(
      'INPUT',
      `Invalid ${file} line ${line}: user_id "${userId}": expected an integer`,
    );
  }
  const message: Message = {
    id: null,
    at,
    sender: userId,
    kind: text === '' ? 'media' : 'text',
    reply_to: null,
  };
  if (storeText) message.text = text;
  return message;
}

// Reads the original system's all_messages.csv (tab-separated, UTC instants, quoted multi-line texts).
export function parseMessagesTsv(content: string, file: string, storeText = false): Message[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, TSV_PARSE_OPTIONS) as unknown as typeof rows;
  } catch (error) {
    throw tsvSyntaxError(file, error);
  }
  checkTsvHeader(rows[0]?.record, file);
  const messages: Message[] = [];
  let previousEnd = rows[0].info.lines;
  for (const { record, info } of rows.slice(1)) {
    const line = previousEnd + 1;
    previousEnd = info.lines;
    messages.push(tsvRecordMessage(record, line, file, storeText));
  }
  return messages;
}

// Partitions are JSON Lines in a fixed key order and time order, so the same day gives the same bytes.
export function formatPartition(messages: Message[]): string {
  const sorted = [...messages].sort(compareMessages);
  return sorted
    .map((m) => {
      const row: Message = { id: m.id, at: m.at, sender: m.sender, kind: m.kind, reply_to: m.reply_to };
      if (m.text !== undefined) row.text = m.text;
      messageSchema.parse(row);
      return JSON.stringify(row) + '\n';
    })
    .join('');
}

// Reads a partition written by formatPartition; `file` names it, and a bad line its number, in errors.
export function parsePartition(content: string, file: string): Message[] {
  const messages: Message[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.length === 0) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      throw invalidLine(file, index + 1, 'not JSON', error);
    }
    const row = messageSchema.safeParse(raw);
    if (!row.success) {
      throw invalidLine(file, index + 1, row.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).slice(0, 3).join('; '), row.error);
    }
    messages.push(row.data);
  });
  return messages;
}

function invalidLine(file: string, line: number, detail: string, cause: unknown): ChatcastError {
  const hint = 'restore it with "chatcast pull", or delete it and ingest that day again';
  return new ChatcastError('STATE', `Invalid ${file} line ${line}: ${detail}: ${PARTITION_RULE}: ${hint}`, { cause });
}

// Time order, then id order: Telegram ids grow with time, and equal instants stay in a stable order.
export function compareMessages(a: Message, b: Message): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return (a.id ?? 0) - (b.id ?? 0);
}

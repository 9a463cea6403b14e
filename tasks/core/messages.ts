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

// Reads the original system's all_messages.csv (tab-separated, UTC instants, quoted multi-line texts).
export function parseMessagesTsv(content: string, file: string, storeText = false): Message[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, { delimiter: '\t', info: true, bom: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new ChatcastError(
      'INPUT',
      `Invalid ${file} line ${line ?? '?'}: ${(error as Error).message}; expected tab-separated datetime, user_id, text with "…" around texts that hold tabs, quotes or line breaks`,
      { cause: error },
    );
  }
  if (rows.length === 0 || rows[0].record.join('\t') !== TSV_HEADER.join('\t')) {
    const got = rows[0]?.record.join('\\t') ?? '';
    throw new ChatcastError(
      'INPUT',
      `Invalid ${file} line 1: header "${got}": expected "${TSV_HEADER.join('\\t')}"`,
    );
  }
  const messages: Message[] = [];
  let previousEnd = rows[0].info.lines;
  for (const { record, info } of rows.slice(1)) {
    const line = previousEnd + 1;
    previousEnd = info.lines;
    const [datetime, userId, text] = record;
    const at = DateTime.fromFormat(datetime, TSV_DATETIME, { setZone: true });
    if (!at.isValid) {
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
      at: at.toUTC().toISO({ suppressMilliseconds: true })!,
      sender: userId,
      kind: text === '' ? 'media' : 'text',
      reply_to: null,
    };
    if (storeText) message.text = text;
    messages.push(message);
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

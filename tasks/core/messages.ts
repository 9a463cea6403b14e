import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { ChatcastError } from './errors.js';

// What a message is, for counting: media, stickers and service messages count as much as text.
export type MessageKind =
  | 'text'
  | 'photo'
  | 'video'
  | 'sticker'
  | 'voice'
  | 'document'
  | 'media' // a media message whose exact kind the source does not tell (the original TSV)
  | 'service'
  | 'other';

// One stored message: enough to count and to join replies; the text only when store_text is on.
export interface Message {
  id: number | null;
  at: string; // UTC instant, ISO with Z
  sender: string | null;
  kind: MessageKind;
  reply_to: number | null;
  text?: string;
}

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
      return JSON.stringify(row) + '\n';
    })
    .join('');
}

// Reads a partition written by formatPartition; `file` names it in errors.
export function parsePartition(content: string, file: string): Message[] {
  return content
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as Message;
      } catch (error) {
        throw new ChatcastError('STATE', `Invalid ${file} line ${index + 1}: not JSON`, { cause: error });
      }
    });
}

// Time order, then id order: Telegram ids grow with time, and equal instants stay in a stable order.
export function compareMessages(a: Message, b: Message): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return (a.id ?? 0) - (b.id ?? 0);
}

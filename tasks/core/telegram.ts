import { ChatcastError } from './errors.js';
import { compareMessages, type Message } from './messages.js';
import { dayOf } from './dates.js';

// How params.yaml names the chat to read: @username, a numeric id, or an invite link.
export type ChatRef =
  | { kind: 'username'; username: string }
  | { kind: 'id'; id: string }
  | { kind: 'invite'; hash: string };

// Parses ingest.chat: "@name", "https://t.me/name", "-1001234567890", "https://t.me/+HASH", "t.me/joinchat/HASH".
export function parseChatRef(value: unknown, what = 'params.yaml ingest.chat'): ChatRef {
  const text = String(value ?? '').trim();
  const invite = text.match(/^(?:https?:\/\/)?(?:t\.me|telegram\.me)\/(?:\+|joinchat\/)([\w-]{8,})\/?$/i);
  if (invite) return { kind: 'invite', hash: invite[1] };
  const link = text.match(/^(?:https?:\/\/)?(?:t\.me|telegram\.me)\/([A-Za-z][\w]{3,31})\/?$/i);
  if (link) return { kind: 'username', username: link[1] };
  const at = text.match(/^@([A-Za-z][\w]{3,31})$/);
  if (at) return { kind: 'username', username: at[1] };
  if (/^-?\d{1,20}$/.test(text)) return { kind: 'id', id: text };
  throw new ChatcastError(
    'CONFIG',
    `Invalid ${what} "${text}": expected @username, a numeric chat id such as -1001234567890, or an invite link https://t.me/+HASH`,
  );
}

// The resolved chat: a stable numeric id and a title for logs.
export interface ResolvedChat {
  id: string;
  title: string;
}

// The only way chatcast reaches Telegram's message history; tasks/io/mtproto.ts implements it with GramJS.
export interface History {
  resolve(ref: ChatRef): Promise<ResolvedChat>;
  // Messages with id > afterId, oldest first, at most `limit`.
  after(chatId: string, afterId: number, limit: number): Promise<Message[]>;
  // The id of the first message sent at or after an instant, if any.
  firstIdFrom(chatId: string, atMs: number): Promise<number | undefined>;
}

// How the fetch loop pages and waits.
export interface FetchOptions {
  pageSize: number;
  maxWaitSeconds: number; // FloodWaits up to this are slept; longer ones fail the step (retryable)
  maxTotalWaitSeconds?: number; // all the sleeping of one fetch together: the task's time limit must not run out asleep
  sleep: (ms: number) => Promise<void>;
  onPage?: (page: { messages: number; lastId: number }) => void;
}

// A FLOOD_WAIT from Telegram, from GramJS's FloodWaitError or anything carrying `seconds`.
function floodWaitSeconds(error: unknown): number | undefined {
  const e = error as { seconds?: unknown; errorMessage?: unknown; constructor?: { name?: string } };
  if (typeof e?.seconds === 'number' && (e.errorMessage === 'FLOOD' || /FloodWait/.test(e.constructor?.name ?? ''))) return e.seconds;
  return undefined;
}

// Every message after `afterId` sent before `endMs`, oldest first, page by page: no gap (each page
// starts after the last id seen) and no duplicate (ids must grow). Stops at the first message of a
// day that has not ended, so that day's partition is only written once it is final.
export async function fetchThrough(
  history: History,
  chatId: string,
  afterId: number,
  endMs: number,
  options: FetchOptions,
): Promise<{ messages: Message[]; pages: number; waitedSeconds: number }> {
  const out: Message[] = [];
  let cursor = afterId;
  let pages = 0;
  let waitedSeconds = 0;
  for (;;) {
    let page: Message[];
    try {
      page = await history.after(chatId, cursor, options.pageSize);
    } catch (error) {
      const seconds = floodWaitSeconds(error);
      const budget = options.maxTotalWaitSeconds ?? Infinity;
      if (seconds !== undefined && seconds <= options.maxWaitSeconds && waitedSeconds + seconds > budget) {
        throw new ChatcastError(
          'EXTERNAL',
          `Telegram asks to wait ${seconds} s more before reading more history (FLOOD_WAIT), after ${waitedSeconds} s of waiting in this run; together more than ${budget} s ($CHATCAST_FLOOD_WAIT_MAX_SECONDS): the task will be retried later`,
          { cause: error },
        );
      }
      if (seconds !== undefined && seconds <= options.maxWaitSeconds) {
        waitedSeconds += seconds;
        await options.sleep(seconds * 1000);
        continue;
      }
      if (seconds !== undefined) {
        throw new ChatcastError(
          'EXTERNAL',
          `Telegram asks to wait ${seconds} s before reading more history (FLOOD_WAIT), longer than ingest.max_wait_seconds = ${options.maxWaitSeconds}: the task will be retried later`,
          { cause: error },
        );
      }
      throw new ChatcastError('EXTERNAL', `Reading the chat history failed after id ${cursor}: ${(error as Error).message}`, { cause: error });
    }
    pages++;
    if (page.length === 0) break;
    for (const message of page) {
      if (message.id === null || message.id <= cursor) {
        throw new ChatcastError('EXTERNAL', `Telegram returned message id ${message.id} after id ${cursor}: expected ids that only grow`);
      }
      if (Date.parse(message.at) >= endMs) return { messages: out, pages, waitedSeconds };
      out.push(message);
      cursor = message.id;
    }
    options.onPage?.({ messages: page.length, lastId: cursor });
  }
  return { messages: out, pages, waitedSeconds };
}

// Groups messages by their chat day.
export function byDay(messages: Message[], zone: string): Map<string, Message[]> {
  const days = new Map<string, Message[]>();
  for (const m of messages) {
    const day = dayOf(Date.parse(m.at), zone);
    const list = days.get(day);
    if (list) list.push(m);
    else days.set(day, [m]);
  }
  return days;
}

// Adds messages to a day's partition: by id, the stored copy wins, so a rerun adds nothing.
export function mergePartition(stored: Message[], incoming: Message[]): Message[] {
  const seen = new Set(stored.map((m) => m.id).filter((id) => id !== null));
  return [...stored, ...incoming.filter((m) => m.id === null || !seen.has(m.id))].sort(compareMessages);
}

// Where incremental ingestion stands: the chat it reads and the last message id stored.
export interface Cursor {
  chat_id: string;
  chat_title: string;
  last_id: number | null; // null: no message seen yet, the next run starts at the day after last_day
  last_day: string;
}

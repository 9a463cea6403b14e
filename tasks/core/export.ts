import { ChatcastError } from './errors.js';
import type { Message, MessageKind } from './messages.js';

const MEDIA_KINDS: Record<string, MessageKind> = {
  sticker: 'sticker',
  voice_message: 'voice',
  video_file: 'video',
  video_message: 'video',
  animation: 'video',
  audio_file: 'document',
};

function bad(file: string, path: string, value: unknown, rule: string): ChatcastError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return new ChatcastError('INPUT', `Invalid ${file} ${path} ${shown === undefined ? '(missing)' : `"${String(shown).slice(0, 60)}"`}: expected ${rule}`);
}

// Telegram Desktop writes text as a string or as an array of strings and entity objects ({type, text}).
export function exportText(text: unknown, file: string, path: string): string {
  if (text === undefined || typeof text === 'string') return text ?? '';
  if (!Array.isArray(text)) throw bad(file, path, text, 'a string or an array of strings and {type, text} entities');
  return text
    .map((part, i) => {
      if (typeof part === 'string') return part;
      if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') return (part as { text: string }).text;
      throw bad(file, `${path}[${i}]`, part, 'a string or an entity object with a "text" string');
    })
    .join('');
}

function senderOf(fromId: unknown): string | null {
  if (typeof fromId !== 'string') return null;
  const user = fromId.match(/^user(\d+)$/);
  if (user) return user[1];
  const channel = fromId.match(/^channel(\d+)$/);
  if (channel) return `-100${channel[1]}`;
  const chat = fromId.match(/^chat(\d+)$/);
  return chat ? `-${chat[1]}` : fromId;
}

// The first day a Telegram message can carry (Telegram opened on 14 August 2013), and how far past
// "now" a date may lie (the export's dates come from Telegram's clock, the run's from this machine's).
export const EARLIEST_MESSAGE_MS = Date.UTC(2013, 7, 14);
export const CLOCK_SKEW_MS = 10 * 60_000;

// ISO of whole-second instants; the date part is remembered (an export holds millions of instants
// in a few thousand days, and toISOString per message costs more than the rest of its checks).
let isoDay = NaN;
let isoPrefix = '';
const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const isoOf = (ms: number) => {
  const day = Math.floor(ms / 86_400_000);
  if (ms % 1000 !== 0 || !(ms >= 0 && ms < 253402300800000)) return new Date(ms).toISOString().replace('.000Z', 'Z');
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
  }
  const s = (ms - day * 86_400_000) / 1000;
  return `${isoPrefix}${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}Z`;
};

// One item of result.json's "messages" as chatcast stores it; `index` names it in errors
// (messages[17].date_unixtime). Albums are one message per photo, as Telegram counts them; forwards
// count where they were posted; edits change nothing (a message counts when it was sent). A date
// before Telegram existed or after `nowMs` is refused with the message's id: counting it would put
// activity where none can be.
export function exportMessage(item: unknown, index: number, file: string, storeText: boolean, nowMs = Date.now()): Message {
  const path = `messages[${index}]`;
  if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(file, path, item, 'an object');
  const m = item as Record<string, unknown>;
  if (typeof m.id !== 'number' || !Number.isInteger(m.id) || m.id <= 0) throw bad(file, `${path}.id`, m.id, 'a positive integer');
  if (m.type !== 'message' && m.type !== 'service') throw bad(file, `${path}.type`, m.type, '"message" or "service"');
  const unix = m.date_unixtime;
  if (typeof unix !== 'string' || !/^\d{1,12}$/.test(unix)) {
    throw bad(file, `${path}.date_unixtime`, unix, `Unix seconds as a string (exports from Telegram Desktop 3.0 or newer have it) for message ${m.id}`);
  }
  const ms = Number(unix) * 1000;
  if (ms < EARLIEST_MESSAGE_MS || ms > nowMs + CLOCK_SKEW_MS) {
    throw new ChatcastError(
      'INPUT',
      `Invalid date ${isoOf(ms)} (date_unixtime "${unix}") of message ${m.id} in ${file} ${path}: expected a time between ${isoOf(EARLIEST_MESSAGE_MS).slice(0, 10)} and now (${isoOf(Math.floor(nowMs / 1000) * 1000)})`,
    );
  }
  const text = exportText(m.text, file, `${path}.text`);
  let kind: MessageKind = 'text';
  if (m.type === 'service') kind = 'service';
  else if (typeof m.photo === 'string') kind = 'photo';
  else if (typeof m.media_type === 'string') kind = MEDIA_KINDS[m.media_type] ?? 'other';
  else if (typeof m.file === 'string') kind = 'document';
  else if (m.poll || m.location_information || m.contact_information || m.game_information || m.invoice_information) kind = 'other';
  const reply = m.reply_to_message_id;
  if (reply !== undefined && (typeof reply !== 'number' || !Number.isInteger(reply))) {
    throw bad(file, `${path}.reply_to_message_id`, reply, 'an integer');
  }
  const message: Message = {
    id: m.id,
    at: isoOf(ms),
    sender: senderOf(m.type === 'service' ? m.actor_id : m.from_id),
    kind,
    reply_to: typeof reply === 'number' ? reply : null,
  };
  if (storeText && text) message.text = text;
  return message;
}

// When an item was last edited (edited_unixtime), 0 when never: which copy of a repeated id is newer.
export function exportEdited(item: unknown): number {
  const edited = (item as { edited_unixtime?: unknown } | null)?.edited_unixtime;
  return typeof edited === 'string' && /^\d{1,12}$/.test(edited) ? Number(edited) : 0;
}

// One message of an export with where it stands and when it was last edited.
export interface ExportEntry {
  message: Message;
  index: number;
  edited: number;
}

// Telegram Desktop writes each message once, but two exports pasted together, or an export edited by
// hand, repeat ids. A repeated id is counted once: two copies sent at the same instant by the same
// sender are one message, and the copy with the newer edit (else the later copy) is kept.
// Copies that differ in time or sender are two different messages under one id: refused, since
// counting either one would lose or invent activity.
export function mergeRepeat(kept: ExportEntry, repeat: ExportEntry, file: string): ExportEntry {
  const a = kept.message;
  const b = repeat.message;
  const differ = a.at !== b.at ? `sent at ${a.at} and at ${b.at}` : a.sender !== b.sender ? `sent by ${a.sender ?? 'nobody'} and by ${b.sender ?? 'nobody'}` : undefined;
  if (differ) {
    throw new ChatcastError(
      'INPUT',
      `Invalid ${file}: messages[${kept.index}] and messages[${repeat.index}] both have id ${a.id} but were ${differ}: expected one message per id (was the file edited or put together from other exports?)`,
    );
  }
  return repeat.edited >= kept.edited ? repeat : kept;
}

// The chat id of an export's header ("id": 1234567890 for a supergroup is channel 1234567890).
export function exportChatId(header: { id?: unknown; type?: unknown }, file: string): string {
  if (typeof header.id !== 'number') throw bad(file, 'id', header.id, 'the numeric chat id at the top of result.json');
  return /supergroup|channel/.test(String(header.type)) ? `-100${header.id}` : String(header.id);
}

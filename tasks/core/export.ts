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

// One item of result.json's "messages" as chatcast stores it; `index` names it in errors
// (messages[17].date_unixtime). Albums are one message per photo, as Telegram counts them; forwards
// count where they were posted; edits change nothing (a message counts when it was sent).
export function exportMessage(item: unknown, index: number, file: string, storeText: boolean): Message {
  const path = `messages[${index}]`;
  if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(file, path, item, 'an object');
  const m = item as Record<string, unknown>;
  if (typeof m.id !== 'number' || !Number.isInteger(m.id) || m.id <= 0) throw bad(file, `${path}.id`, m.id, 'a positive integer');
  if (m.type !== 'message' && m.type !== 'service') throw bad(file, `${path}.type`, m.type, '"message" or "service"');
  const unix = m.date_unixtime;
  if (typeof unix !== 'string' || !/^\d{9,11}$/.test(unix)) {
    throw bad(file, `${path}.date_unixtime`, unix, 'Unix seconds as a string (exports from Telegram Desktop 3.0 or newer have it)');
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
    at: new Date(Number(unix) * 1000).toISOString().replace('.000Z', 'Z'),
    sender: senderOf(m.type === 'service' ? m.actor_id : m.from_id),
    kind,
    reply_to: typeof reply === 'number' ? reply : null,
  };
  if (storeText && text) message.text = text;
  return message;
}

// The chat id of an export's header ("id": 1234567890 for a supergroup is channel 1234567890).
export function exportChatId(header: { id?: unknown; type?: unknown }, file: string): string {
  if (typeof header.id !== 'number') throw bad(file, 'id', header.id, 'the numeric chat id at the top of result.json');
  return /supergroup|channel/.test(String(header.type)) ? `-100${header.id}` : String(header.id);
}

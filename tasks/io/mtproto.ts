import { Api, TelegramClient, sessions, utils } from 'telegram';
import { Logger, LogLevel } from 'telegram/extensions/Logger.js';
import { ChatcastError } from '../core/errors.js';
import type { Message, MessageKind } from '../core/messages.js';
import type { ChatRef, History, ResolvedChat } from '../core/telegram.js';

// The MTProto credentials of the user account chatcast reads the chat with.
export interface TelegramCredentials {
  apiId: number;
  apiHash: string;
  session: string;
}

// Reads TELEGRAM_API_ID, TELEGRAM_API_HASH and TELEGRAM_SESSION; names the one missing and how to get it.
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env, needSession = true): TelegramCredentials {
  const apiId = env.TELEGRAM_API_ID ?? '';
  if (!/^\d+$/.test(apiId)) {
    throw new ChatcastError(
      'CONFIG',
      apiId ? `Invalid TELEGRAM_API_ID "${apiId}": expected the numeric api_id from https://my.telegram.org` : 'TELEGRAM_API_ID is not set: get api_id and api_hash at https://my.telegram.org and set both',
    );
  }
  const apiHash = env.TELEGRAM_API_HASH ?? '';
  if (!/^[0-9a-f]{32}$/i.test(apiHash)) {
    throw new ChatcastError('CONFIG', apiHash ? 'Invalid TELEGRAM_API_HASH: expected the 32 hex digits of api_hash from https://my.telegram.org' : 'TELEGRAM_API_HASH is not set: get it at https://my.telegram.org');
  }
  const session = env.TELEGRAM_SESSION ?? '';
  if (needSession && !session) {
    throw new ChatcastError('CONFIG', 'TELEGRAM_SESSION is not set: run "chatcast login" once on a terminal and store the session string it prints (an Airflow Connection in production)');
  }
  return { apiId: Number(apiId), apiHash, session };
}

// A GramJS client that logs nothing (its logs could carry the session) and lets chatcast handle FLOOD_WAIT.
export function createClient(credentials: TelegramCredentials): TelegramClient {
  return new TelegramClient(new sessions.StringSession(credentials.session), credentials.apiId, credentials.apiHash, {
    connectionRetries: 3,
    floodSleepThreshold: 0,
    baseLogger: new Logger(LogLevel.NONE),
  });
}

// What kind of message a GramJS message is, for counting.
export function kindOf(message: Api.Message | Api.MessageService): MessageKind {
  if (message instanceof Api.MessageService) return 'service';
  const media = message.media;
  if (!media || media instanceof Api.MessageMediaWebPage || media instanceof Api.MessageMediaEmpty) return 'text';
  if (media instanceof Api.MessageMediaPhoto) return 'photo';
  if (media instanceof Api.MessageMediaDocument && media.document instanceof Api.Document) {
    const attributes = media.document.attributes;
    if (attributes.some((a) => a instanceof Api.DocumentAttributeSticker)) return 'sticker';
    if (attributes.some((a) => a instanceof Api.DocumentAttributeAudio && a.voice)) return 'voice';
    if (attributes.some((a) => a instanceof Api.DocumentAttributeVideo || a instanceof Api.DocumentAttributeAnimated)) return 'video';
    return 'document';
  }
  return 'other';
}

// A GramJS message as chatcast stores it.
export function toMessage(message: Api.Message | Api.MessageService, storeText: boolean): Message {
  const stored: Message = {
    id: message.id,
    at: new Date(message.date * 1000).toISOString().replace('.000Z', 'Z'),
    sender: message.fromId ? utils.getPeerId(message.fromId) : null,
    kind: kindOf(message),
    reply_to: message.replyTo instanceof Api.MessageReplyHeader ? (message.replyTo.replyToMsgId ?? null) : null,
  };
  if (storeText && message instanceof Api.Message && message.message) stored.text = message.message;
  return stored;
}

// The History interface over a connected GramJS client.
export class GramjsHistory implements History {
  private readonly entities = new Map<string, Api.TypeInputPeer>();

  constructor(
    private readonly client: TelegramClient,
    private readonly storeText: boolean,
  ) {}

  async resolve(ref: ChatRef): Promise<ResolvedChat> {
    let entity: Api.TypeChat | Api.TypeUser;
    if (ref.kind === 'invite') {
      // GramJS's link parser does not know t.me/+HASH links: ask Telegram about the invite itself.
      const invite = await this.client.invoke(new Api.messages.CheckChatInvite({ hash: ref.hash }));
      if (invite instanceof Api.ChatInviteAlready || invite instanceof Api.ChatInvitePeek) entity = invite.chat;
      else {
        throw new ChatcastError('CONFIG', `The account behind TELEGRAM_SESSION is not a member of the chat behind invite ${ref.hash.slice(0, 4)}…: join it with that account first`);
      }
    } else if (ref.kind === 'username') {
      entity = (await this.client.getEntity(ref.username)) as Api.TypeChat | Api.TypeUser;
    } else {
      entity = await this.findById(ref.id);
    }
    const id = utils.getPeerId(entity);
    this.entities.set(id, utils.getInputPeer(entity));
    const title = 'title' in entity && entity.title ? entity.title : id;
    return { id, title };
  }

  // A numeric id resolves only through the account's dialogs (a string session caches no entities).
  private async findById(id: string): Promise<Api.TypeChat | Api.TypeUser> {
    for await (const dialog of this.client.iterDialogs({})) {
      if (dialog.entity && utils.getPeerId(dialog.entity) === id) return dialog.entity as Api.TypeChat | Api.TypeUser;
    }
    throw new ChatcastError('CONFIG', `No chat with id ${id} among the dialogs of the account behind TELEGRAM_SESSION: check params.yaml ingest.chat or join the chat`);
  }

  private peer(chatId: string): Api.TypeInputPeer {
    const peer = this.entities.get(chatId);
    if (!peer) throw new ChatcastError('STATE', `Chat ${chatId} was not resolved first`);
    return peer;
  }

  async after(chatId: string, afterId: number, limit: number): Promise<Message[]> {
    const page = await this.client.getMessages(this.peer(chatId), { minId: afterId, reverse: true, limit });
    // GramJS types the list as Message, but service messages come through it too.
    return (Array.from(page) as unknown[])
      .filter((m): m is Api.Message | Api.MessageService => m instanceof Api.Message || m instanceof Api.MessageService)
      .map((m) => toMessage(m, this.storeText));
  }

  async firstIdFrom(chatId: string, atMs: number): Promise<number | undefined> {
    const [first] = await this.client.getMessages(this.peer(chatId), { offsetDate: Math.floor(atMs / 1000), reverse: true, limit: 1 });
    return first?.id;
  }
}

// Connects with the stored session; a missing or revoked session fails clearly and never prompts.
export async function connectHistory(
  storeText: boolean,
  env: NodeJS.ProcessEnv = process.env,
  client: TelegramClient = createClient(credentialsFromEnv(env)),
): Promise<{ history: History; close: () => Promise<void> }> {
  try {
    await client.connect();
    if (!(await client.checkAuthorization())) {
      throw new ChatcastError('CONFIG', 'TELEGRAM_SESSION is no longer authorised (logged out or revoked): run "chatcast login" again and store the new session string');
    }
  } catch (error) {
    await client.destroy().catch(() => undefined);
    if (error instanceof ChatcastError) throw error;
    throw new ChatcastError('EXTERNAL', `Cannot connect to Telegram: ${(error as Error).message}`, { cause: error });
  }
  return { history: new GramjsHistory(client, storeText), close: () => client.destroy() };
}

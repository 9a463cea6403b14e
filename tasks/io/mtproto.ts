import { Api, TelegramClient, errors, sessions, utils } from 'telegram';
import { Logger, LogLevel } from 'telegram/extensions/Logger.js';
import { ConnectionTCPFull } from 'telegram/network/index.js';
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
  // A pasted session often carries a line break: it is base64, so surrounding white space is never part of it.
  const session = (env.TELEGRAM_SESSION ?? '').trim();
  if (needSession && !session) {
    throw new ChatcastError('CONFIG', 'TELEGRAM_SESSION is not set: run "chatcast login" once on a terminal and store the session string it prints (an Airflow Connection in production)');
  }
  return { apiId: Number(apiId), apiHash, session };
}

// What a TELEGRAM_SESSION string holds: GramJS's StringSession is "1" + base64 of the data center id
// (1 byte), its address (2-byte length + text, or 16 bytes of IPv6; Telethon's 352-character form has
// 4 bytes of IPv4), its port (2 bytes) and the 2048-bit auth key.
export interface SessionInfo {
  dcId: number;
  address: string;
  port: number;
}

// Checks a session string the way GramJS will read it, so that a malformed one fails as CONFIG before
// any connection; the reason never quotes the string itself (it is a secret).
export function parseSession(session: string): SessionInfo {
  const bad = (reason: string) =>
    new ChatcastError('CONFIG', `Invalid TELEGRAM_SESSION: expected a session string made by "chatcast login" (${reason})`);
  if (session[0] !== '1') throw bad('it does not start with 1, the version of the format');
  const body = session.slice(1);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw bad('it holds characters that are not base64');
  const bytes = Buffer.from(body, 'base64');
  const tooShort = bad(`it decodes to ${bytes.length} bytes, too few for a data center, its address, a port and a 256-byte auth key: was it cut short?`);
  if (bytes.length < 1 + 2 + 1 + 2 + 256) throw tooShort;
  const dcId = bytes[0];
  let address: string;
  let offset: number;
  if (body.length === 352) {
    address = Array.from(bytes.subarray(1, 5)).join('.');
    offset = 5;
  } else {
    const length = bytes.readInt16BE(1);
    if (length > 100) {
      address = (bytes.subarray(1, 17).toString('hex').match(/.{4}/g) ?? []).join(':');
      offset = 17;
    } else {
      address = bytes.subarray(3, 3 + length).toString('latin1');
      offset = 3 + length;
    }
  }
  const keyLength = bytes.length - offset - 2;
  if (keyLength < 0) throw tooShort;
  const port = bytes.readUInt16BE(offset);
  if (dcId < 1) throw bad(`its data center id is ${dcId}, expected 1 or more`);
  if (!/^[A-Za-z0-9.:-]{2,}$/.test(address)) throw bad('its data center address is not an IP address or host name');
  if (port < 1) throw bad('its port is 0');
  if (keyLength !== 256) throw bad(`its auth key is ${keyLength} bytes, expected 256${keyLength < 256 ? ': was it cut short?' : ''}`);
  return { dcId, address, port };
}

// GramJS (2.26) connects the main sender to port 80 whatever port the session stores; this
// connection uses the session's port for the session's own address, as Telethon does (Telegram's data
// centers answer on 80 and 443 alike), so a session names one exact server.
function connectionFor(session: sessions.StringSession): typeof ConnectionTCPFull {
  return class SessionPortConnection extends ConnectionTCPFull {
    constructor(options: ConstructorParameters<typeof ConnectionTCPFull>[0]) {
      const own = options.ip === session.serverAddress && session.port;
      super(own ? { ...options, port: (session.port + 65536) % 65536 } : options);
    }
  };
}

// Connection attempts before giving up (each ends on a refused or reset connection), and how long one
// exchange with Telegram (connecting, one request) may take before chatcast calls it unreachable.
export const CONNECTION_RETRIES = 3;
export const DEFAULT_TIMEOUT_SECONDS = 30;

// CHATCAST_TELEGRAM_TIMEOUT_SECONDS: whole seconds, 1 to 600.
export function timeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.CHATCAST_TELEGRAM_TIMEOUT_SECONDS;
  if (value === undefined || value === '') return DEFAULT_TIMEOUT_SECONDS;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 600) {
    throw new ChatcastError('CONFIG', `Invalid CHATCAST_TELEGRAM_TIMEOUT_SECONDS "${value}": expected whole seconds from 1 to 600`);
  }
  return Number(value);
}

// A GramJS client that logs nothing (its logs could carry the session) and lets chatcast handle FLOOD_WAIT.
// Connection attempts and reconnections are bounded: GramJS's default is to retry forever.
export function createClient(credentials: TelegramCredentials): TelegramClient {
  if (credentials.session) parseSession(credentials.session);
  let session: sessions.StringSession;
  try {
    session = new sessions.StringSession(credentials.session);
  } catch (error) {
    throw new ChatcastError('CONFIG', `Invalid TELEGRAM_SESSION: expected a session string made by "chatcast login" (GramJS cannot read it: ${(error as Error).message})`);
  }
  return new TelegramClient(session, credentials.apiId, credentials.apiHash, {
    connection: connectionFor(session),
    connectionRetries: CONNECTION_RETRIES,
    reconnectRetries: CONNECTION_RETRIES,
    retryDelay: 1000,
    floodSleepThreshold: 0,
    baseLogger: new Logger(LogLevel.NONE),
  });
}

// Where the client connects, for messages: "DC 2 at 149.154.167.50:443".
function addressOf(client: TelegramClient): string {
  const session = client.session as Partial<sessions.StringSession> | undefined;
  if (!session?.serverAddress) return 'Telegram';
  return `DC ${session.dcId} at ${session.serverAddress}:${session.port ? (session.port + 65536) % 65536 : 80}`;
}

// Waits for `work` at most `seconds`; the timer keeps Node alive meanwhile, so a GramJS promise that
// never settles ends as a clear error rather than an empty event loop (exit 13). A late rejection of
// `work` is swallowed.
export function withDeadline<T>(work: Promise<T>, seconds: number, onTimeout: () => ChatcastError): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

// The FLOOD_WAIT (or SLOWMODE_WAIT) seconds of a GramJS error, if it is one.
function floodSeconds(error: unknown): number | undefined {
  return error instanceof errors.FloodError && typeof (error as { seconds?: unknown }).seconds === 'number' ? (error as unknown as { seconds: number }).seconds : undefined;
}

// An RPC error that means the session no longer opens the account.
function unauthorised(error: unknown): boolean {
  return error instanceof errors.RPCError && error.code === 401;
}

function revoked(error?: unknown): ChatcastError {
  return new ChatcastError('CONFIG', 'TELEGRAM_SESSION is no longer authorised (logged out or revoked): run "chatcast login" again and store the new session string', { cause: error });
}

// How GramjsHistory talks to Telegram: the longest FLOOD_WAIT slept through (params.yaml
// ingest.max_wait_seconds), the bound on one exchange, and the sleep (replaced in tests).
export interface CallOptions {
  maxWaitSeconds: number;
  timeoutSeconds: number;
  sleep: (ms: number) => Promise<void>;
}

const DEFAULT_CALL_OPTIONS: CallOptions = {
  maxWaitSeconds: 120,
  timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

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

// The History interface over a connected GramJS client. Every exchange is bounded in time; resolving
// the chat sleeps through FLOOD_WAITs up to maxWaitSeconds and fails retryably (exit 7) on a longer one
// (history pages leave theirs to fetchThrough, which counts the seconds waited).
export class GramjsHistory implements History {
  private readonly entities = new Map<string, Api.TypeInputPeer>();
  private readonly options: CallOptions;

  constructor(
    private readonly client: TelegramClient,
    private readonly storeText: boolean,
    options: Partial<CallOptions> = {},
  ) {
    this.options = { ...DEFAULT_CALL_OPTIONS, ...options };
  }

  // One exchange with Telegram, bounded by timeoutSeconds. FLOOD_WAITs are waited out here unless
  // `passFlood` (the caller handles them); a 401 is a revoked session; anything else is EXTERNAL.
  private async call<T>(what: string, work: () => Promise<T>, passFlood = false): Promise<T> {
    for (let waits = 0; ; waits++) {
      try {
        return await withDeadline(work(), this.options.timeoutSeconds, () =>
          unreachable(`no answer from ${addressOf(this.client)} within ${this.options.timeoutSeconds} s while ${what}`),
        );
      } catch (error) {
        if (error instanceof ChatcastError) throw error;
        const seconds = floodSeconds(error);
        if (seconds !== undefined && passFlood) throw error;
        if (seconds !== undefined && seconds <= this.options.maxWaitSeconds && waits < 3) {
          await this.options.sleep(seconds * 1000);
          continue;
        }
        if (seconds !== undefined) {
          throw new ChatcastError(
            'EXTERNAL',
            `Telegram asks to wait ${seconds} s before ${what} (FLOOD_WAIT), longer than ingest.max_wait_seconds = ${this.options.maxWaitSeconds}: retry later`,
            { cause: error },
          );
        }
        if (unauthorised(error)) throw revoked(error);
        // A name nobody has, or a chat the account cannot see: retrying will not help.
        const message = (error as Error)?.message ?? String(error);
        if ((error instanceof errors.RPCError && error.code === 400) || /^(No user has|Cannot find any entity)/.test(message)) {
          const reason = error instanceof errors.RPCError ? error.errorMessage : message;
          throw new ChatcastError('CONFIG', `Telegram refused ${what} (${reason}): check params.yaml ingest.chat and that the account behind TELEGRAM_SESSION can see the chat`, { cause: error });
        }
        throw new ChatcastError('EXTERNAL', `Telegram failed while ${what}: ${message}`, { cause: error });
      }
    }
  }

  async resolve(ref: ChatRef): Promise<ResolvedChat> {
    let entity: Api.TypeChat | Api.TypeUser;
    if (ref.kind === 'invite') {
      // GramJS's link parser does not know t.me/+HASH links: ask Telegram about the invite itself.
      const invite = await this.call('checking the invite link', () => this.client.invoke(new Api.messages.CheckChatInvite({ hash: ref.hash })));
      if (invite instanceof Api.ChatInviteAlready || invite instanceof Api.ChatInvitePeek) entity = invite.chat;
      else {
        throw new ChatcastError('CONFIG', `The account behind TELEGRAM_SESSION is not a member of the chat behind invite ${ref.hash.slice(0, 4)}…: join it with that account first`);
      }
    } else if (ref.kind === 'username') {
      entity = await this.call(`resolving @${ref.username}`, async () => (await this.client.getEntity(ref.username)) as Api.TypeChat | Api.TypeUser);
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
    const found = await this.call(`looking for chat ${id} among the dialogs`, async () => {
      for await (const dialog of this.client.iterDialogs({})) {
        if (dialog.entity && utils.getPeerId(dialog.entity) === id) return dialog.entity as Api.TypeChat | Api.TypeUser;
      }
      return undefined;
    });
    if (found) return found;
    throw new ChatcastError('CONFIG', `No chat with id ${id} among the dialogs of the account behind TELEGRAM_SESSION: check params.yaml ingest.chat or join the chat`);
  }

  private peer(chatId: string): Api.TypeInputPeer {
    const peer = this.entities.get(chatId);
    if (!peer) throw new ChatcastError('STATE', `Chat ${chatId} was not resolved first`);
    return peer;
  }

  async after(chatId: string, afterId: number, limit: number): Promise<Message[]> {
    const peer = this.peer(chatId);
    const page = await this.call(`reading the history after id ${afterId}`, () => this.client.getMessages(peer, { minId: afterId, reverse: true, limit }), true);
    // GramJS types the list as Message, but service messages come through it too.
    return (Array.from(page) as unknown[])
      .filter((m): m is Api.Message | Api.MessageService => m instanceof Api.Message || m instanceof Api.MessageService)
      .map((m) => toMessage(m, this.storeText));
  }

  async firstIdFrom(chatId: string, atMs: number): Promise<number | undefined> {
    const peer = this.peer(chatId);
    const [first] = await this.call('finding the first message of the day', () => this.client.getMessages(peer, { offsetDate: Math.floor(atMs / 1000), reverse: true, limit: 1 }));
    return first?.id;
  }
}

function unreachable(reason: string, cause?: unknown): ChatcastError {
  return new ChatcastError('EXTERNAL', `Telegram is unreachable (${reason}): retry later`, { cause });
}

// Closes the client without waiting long on a broken connection.
async function destroy(client: TelegramClient): Promise<void> {
  await withDeadline(client.destroy(), 5, () => unreachable('closing the connection')).catch(() => undefined);
}

// What ingest asks of the connection: texts or not, the longest FLOOD_WAIT to sleep through.
export interface ConnectOptions {
  storeText: boolean;
  maxWaitSeconds?: number;
}

// Connects with the stored session; a missing, malformed or revoked session fails clearly (CONFIG) and
// never prompts; an unreachable Telegram fails within CONNECTION_RETRIES attempts or the timeout
// (EXTERNAL, retryable) instead of leaving GramJS waiting forever.
export async function connectHistory(
  options: ConnectOptions,
  env: NodeJS.ProcessEnv = process.env,
  client?: TelegramClient,
): Promise<{ history: History; close: () => Promise<void> }> {
  const timeoutSeconds = timeoutFromEnv(env);
  const connected = client ?? createClient(credentialsFromEnv(env));
  let lastError: unknown;
  // GramJS reports each failed attempt here and nowhere else (its connect() then just returns false).
  if (!client) connected.onError = async (error) => void (lastError = error);
  const where = addressOf(connected);
  try {
    await withDeadline(
      (async () => {
        if (!(await connected.connect())) {
          const reason = (lastError as NodeJS.ErrnoException | undefined)?.code ?? (lastError as Error | undefined)?.message ?? 'connection failed';
          throw unreachable(`no connection to ${where} after ${CONNECTION_RETRIES} attempts: ${reason}`, lastError);
        }
        // GramJS's checkAuthorization() answers false on any error, a network one too: ask ourselves.
        try {
          await connected.invoke(new Api.updates.GetState());
        } catch (error) {
          if (unauthorised(error)) throw revoked(error);
          throw error;
        }
      })(),
      timeoutSeconds,
      () => {
        const last = lastError as NodeJS.ErrnoException | undefined;
        return unreachable(`no answer from ${where} within ${timeoutSeconds} s${last ? `; last error: ${last.code ?? last.message ?? String(last)}` : ''}`, last);
      },
    );
  } catch (error) {
    await destroy(connected);
    if (error instanceof ChatcastError) throw error;
    const seconds = floodSeconds(error);
    if (seconds !== undefined) throw new ChatcastError('EXTERNAL', `Telegram asks to wait ${seconds} s before connecting again (FLOOD_WAIT): retry later`, { cause: error });
    if (error instanceof errors.RPCError && /^API_ID_(INVALID|PUBLISHED_FLOOD)$/.test(error.errorMessage)) {
      throw new ChatcastError('CONFIG', `Telegram refuses TELEGRAM_API_ID and TELEGRAM_API_HASH (${error.errorMessage}): expected the pair from https://my.telegram.org`, { cause: error });
    }
    if (error instanceof errors.RPCError) throw new ChatcastError('EXTERNAL', `Telegram refused the connection (${error.errorMessage}): retry later`, { cause: error });
    throw unreachable(`${where}: ${(error as Error)?.message ?? String(error)}`, error);
  }
  const history = new GramjsHistory(connected, options.storeText, { timeoutSeconds, ...(options.maxWaitSeconds === undefined ? {} : { maxWaitSeconds: options.maxWaitSeconds }) });
  return { history, close: () => destroy(connected) };
}

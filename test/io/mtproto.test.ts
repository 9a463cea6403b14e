import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, errors, sessions, type TelegramClient } from 'telegram';
import { AuthKey } from 'telegram/crypto/AuthKey.js';
import { connectHistory, credentialsFromEnv, GramjsHistory, kindOf, parseSession, timeoutFromEnv, toMessage } from '../../tasks/io/mtproto.js';
import { chatcast, snapshot, tempDir } from '../helpers.js';

const base = { peerId: new Api.PeerChannel({ channelId: BigInt(1234567890) as never }), date: 1711843200 };
const doc = (attributes: Api.TypeDocumentAttribute[]) =>
  new Api.MessageMediaDocument({ document: new Api.Document({ id: BigInt(1) as never, accessHash: BigInt(1) as never, fileReference: Buffer.alloc(0), date: 0, mimeType: 'x', size: BigInt(1) as never, dcId: 2, attributes }) });

describe('GramJS messages as chatcast stores them', () => {
  it('keep id, UTC instant, sender, reply and kind; the text only when asked', () => {
    const message = new Api.Message({
      ...base,
      id: 42,
      message: 'Всем привет',
      fromId: new Api.PeerUser({ userId: BigInt(777) as never }),
      replyTo: new Api.MessageReplyHeader({ replyToMsgId: 41 }),
    });
    expect(toMessage(message, false)).toEqual({ id: 42, at: '2024-03-31T00:00:00Z', sender: '777', kind: 'text', reply_to: 41 });
    expect(toMessage(message, true).text).toBe('Всем привет');
  });

  it.each([
    ['photo', new Api.MessageMediaPhoto({})],
    ['sticker', doc([new Api.DocumentAttributeSticker({ alt: '👍', stickerset: new Api.InputStickerSetEmpty() })])],
    ['voice', doc([new Api.DocumentAttributeAudio({ duration: 3, voice: true })])],
    ['video', doc([new Api.DocumentAttributeVideo({ duration: 3, w: 1, h: 1, roundMessage: true })])],
    ['document', doc([new Api.DocumentAttributeFilename({ fileName: 'lecture.pdf' })])],
    ['other', new Api.MessageMediaGeo({ geo: new Api.GeoPointEmpty() })],
    ['text', new Api.MessageMediaWebPage({ webpage: new Api.WebPageEmpty({ id: BigInt(1) as never }) })],
  ])('count a %s message as %s', (kind, media) => {
    expect(kindOf(new Api.Message({ ...base, id: 1, message: '', media }))).toBe(kind);
  });

  it('count service messages (joins, pins) too', () => {
    const service = new Api.MessageService({ ...base, id: 7, action: new Api.MessageActionPinMessage() });
    expect(toMessage(service, true)).toEqual({ id: 7, at: '2024-03-31T00:00:00Z', sender: null, kind: 'service', reply_to: null });
  });
});

describe('the GramJS History', () => {
  it('resolves an invite link with messages.CheckChatInvite (GramJS cannot parse t.me/+ links)', async () => {
    const invoked: unknown[] = [];
    const client = {
      invoke: async (request: unknown) => {
        invoked.push(request);
        return new Api.ChatInviteAlready({ chat: new Api.Channel({ id: BigInt(1234567890) as never, title: 'Учебный чат', photo: new Api.ChatPhotoEmpty(), date: 0, accessHash: BigInt(5) as never, megagroup: true }) });
      },
    } as unknown as TelegramClient;
    const chat = await new GramjsHistory(client, false).resolve({ kind: 'invite', hash: 'AbCdEf123456' });
    expect(chat).toEqual({ id: '-1001234567890', title: 'Учебный чат' });
    expect(invoked[0]).toBeInstanceOf(Api.messages.CheckChatInvite);
    expect((invoked[0] as Api.messages.CheckChatInvite).hash).toBe('AbCdEf123456');
  });

  it('refuses an invite the account has not joined', async () => {
    const client = { invoke: async () => new Api.ChatInvite({ title: 'x', photo: new Api.PhotoEmpty({ id: BigInt(0) as never }), participantsCount: 3 }) } as unknown as TelegramClient;
    await expect(new GramjsHistory(client, false).resolve({ kind: 'invite', hash: 'AbCdEf123456' })).rejects.toThrow('is not a member of the chat behind invite AbCd…: join it with that account first');
  });

  it('asks for messages after an id, oldest first, and passes service messages through', async () => {
    const asked: unknown[] = [];
    const client = {
      invoke: async () => new Api.ChatInviteAlready({ chat: new Api.Channel({ id: BigInt(1) as never, title: 't', photo: new Api.ChatPhotoEmpty(), date: 0, accessHash: BigInt(5) as never }) }),
      getMessages: async (_peer: unknown, options: unknown) => {
        asked.push(options);
        return [new Api.Message({ ...base, id: 11, message: 'a' }), new Api.MessageService({ ...base, id: 12, action: new Api.MessageActionPinMessage() }), new Api.MessageEmpty({ id: 13 })];
      },
    } as unknown as TelegramClient;
    const history = new GramjsHistory(client, false);
    const chat = await history.resolve({ kind: 'invite', hash: 'AbCdEf123456' });
    expect((await history.after(chat.id, 10, 100)).map((m) => `${m.id}:${m.kind}`)).toEqual(['11:text', '12:service']);
    expect(asked[0]).toEqual({ minId: 10, reverse: true, limit: 100 });
  });
});

describe('credentials', () => {
  it('name what is missing or malformed, never the secret', () => {
    expect(() => credentialsFromEnv({})).toThrow('TELEGRAM_API_ID is not set');
    expect(() => credentialsFromEnv({ TELEGRAM_API_ID: 'abc' })).toThrow('Invalid TELEGRAM_API_ID "abc": expected the numeric api_id');
    expect(() => credentialsFromEnv({ TELEGRAM_API_ID: '1', TELEGRAM_API_HASH: 'secret-but-wrong' })).toThrow(/^Invalid TELEGRAM_API_HASH: expected the 32 hex digits/);
    expect(() => credentialsFromEnv({ TELEGRAM_API_ID: '1', TELEGRAM_API_HASH: 'f'.repeat(32) })).toThrow('TELEGRAM_SESSION is not set: run "chatcast login"');
  });
});

describe('connecting', () => {
  const revokedClient = (invoke: () => Promise<unknown>, connect = async () => true) => {
    const state = { destroyed: false };
    const client = { connect, invoke, destroy: async () => void (state.destroyed = true), session: {} } as unknown as TelegramClient;
    return { client, state };
  };

  it('fails clearly, without prompting, when the stored session was revoked', async () => {
    const { client, state } = revokedClient(async () => {
      throw new errors.RPCError('AUTH_KEY_UNREGISTERED', new Api.updates.GetState(), 401);
    });
    await expect(connectHistory({ storeText: false }, {}, client)).rejects.toMatchObject({
      code: 'CONFIG',
      message: 'TELEGRAM_SESSION is no longer authorised (logged out or revoked): run "chatcast login" again and store the new session string',
    });
    expect(state.destroyed).toBe(true);
  });

  it('calls a network failure during the authorisation check unreachable, not a revoked session', async () => {
    const { client, state } = revokedClient(async () => {
      throw new Error('Cannot send requests while disconnected. Please reconnect.');
    });
    await expect(connectHistory({ storeText: false }, {}, client)).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: 'Telegram is unreachable (Telegram: Cannot send requests while disconnected. Please reconnect.): retry later',
    });
    expect(state.destroyed).toBe(true);
  });

  it('gives up when every connection attempt failed (GramJS then resolves connect() with false)', async () => {
    const { client } = revokedClient(async () => new Promise(() => undefined), async () => false);
    await expect(connectHistory({ storeText: false }, {}, client)).rejects.toMatchObject({ code: 'EXTERNAL', message: expect.stringMatching(/^Telegram is unreachable \(no connection to Telegram after 3 attempts/) });
  });

  it('bounds the wait with CHATCAST_TELEGRAM_TIMEOUT_SECONDS, and refuses a bad value', async () => {
    const { client } = revokedClient(async () => new Promise(() => undefined));
    const started = Date.now();
    await expect(connectHistory({ storeText: false }, { CHATCAST_TELEGRAM_TIMEOUT_SECONDS: '1' }, client)).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: 'Telegram is unreachable (no answer from Telegram within 1 s): retry later',
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(() => timeoutFromEnv({ CHATCAST_TELEGRAM_TIMEOUT_SECONDS: '0' })).toThrow('Invalid CHATCAST_TELEGRAM_TIMEOUT_SECONDS "0": expected whole seconds from 1 to 600');
    expect(timeoutFromEnv({})).toBe(30);
  });
});

describe('FLOOD_WAIT and silence while reading', () => {
  const channel = new Api.Channel({ id: BigInt(1) as never, title: 't', photo: new Api.ChatPhotoEmpty(), date: 0, accessHash: BigInt(5) as never });
  const flood = (seconds: number) => new errors.FloodWaitError({ capture: seconds, request: new Api.messages.CheckChatInvite({ hash: 'x' }) });

  it('sleeps through a FLOOD_WAIT up to ingest.max_wait_seconds while resolving the chat', async () => {
    let calls = 0;
    const slept: number[] = [];
    const client = {
      invoke: async () => {
        if (++calls === 1) throw flood(7);
        return new Api.ChatInviteAlready({ chat: channel });
      },
    } as unknown as TelegramClient;
    const history = new GramjsHistory(client, false, { maxWaitSeconds: 10, sleep: async (ms) => void slept.push(ms) });
    expect(await history.resolve({ kind: 'invite', hash: 'AbCdEf123456' })).toEqual({ id: '-1001', title: 't' });
    expect(slept).toEqual([7000]);
  });

  it('fails retryably (exit 7) on a longer FLOOD_WAIT, saying how long Telegram asked to wait', async () => {
    const slept: number[] = [];
    const client = { invoke: async () => Promise.reject(flood(86400)) } as unknown as TelegramClient;
    const history = new GramjsHistory(client, false, { maxWaitSeconds: 300, sleep: async (ms) => void slept.push(ms) });
    await expect(history.resolve({ kind: 'invite', hash: 'AbCdEf123456' })).rejects.toMatchObject({
      code: 'EXTERNAL',
      exitCode: 7,
      message: 'Telegram asks to wait 86400 s before checking the invite link (FLOOD_WAIT), longer than ingest.max_wait_seconds = 300: retry later',
    });
    expect(slept).toEqual([]);
  });

  it('refuses a name nobody has as CONFIG (a retry would not help)', async () => {
    const client = { getEntity: async () => Promise.reject(new errors.RPCError('USERNAME_NOT_OCCUPIED', new Api.contacts.ResolveUsername({ username: 'nobody_here' }), 400)) } as unknown as TelegramClient;
    await expect(new GramjsHistory(client, false).resolve({ kind: 'username', username: 'nobody_here' })).rejects.toMatchObject({
      code: 'CONFIG',
      message: 'Telegram refused resolving @nobody_here (USERNAME_NOT_OCCUPIED): check params.yaml ingest.chat and that the account behind TELEGRAM_SESSION can see the chat',
    });
  });

  it('passes the FLOOD_WAIT of a history page on to fetchThrough (which counts the wait), and bounds a silent page', async () => {
    let page: () => Promise<unknown> = async () => Promise.reject(flood(5));
    const client = {
      invoke: async () => new Api.ChatInviteAlready({ chat: channel }),
      getMessages: async () => page(),
    } as unknown as TelegramClient;
    const history = new GramjsHistory(client, false, { timeoutSeconds: 0.2 });
    const chat = await history.resolve({ kind: 'invite', hash: 'AbCdEf123456' });
    await expect(history.after(chat.id, 10, 100)).rejects.toBeInstanceOf(errors.FloodWaitError);
    page = () => new Promise(() => undefined);
    await expect(history.after(chat.id, 10, 100)).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: 'Telegram is unreachable (no answer from Telegram within 0.2 s while reading the history after id 10): retry later',
    });
  });
});

// A session string made with GramJS's own classes: data center 2 at host:port, a made-up auth key.
async function sessionFor(host: string, port: number): Promise<string> {
  const session = new sessions.StringSession('');
  session.setDC(2, host, port);
  const key = new AuthKey();
  await key.setKey(Buffer.alloc(256, 7));
  session.setAuthKey(key);
  return session.save();
}

describe('TELEGRAM_SESSION strings', () => {
  it('reads what GramJS writes: data center, address and port', async () => {
    expect(parseSession(await sessionFor('149.154.167.50', 443))).toEqual({ dcId: 2, address: '149.154.167.50', port: 443 });
  });

  it.each([
    ['a short word', async () => 'xyzzy-secret', 'it does not start with 1, the version of the format'],
    ['non-base64 characters', async () => '1xyzzy-secret!', 'it holds characters that are not base64'],
    ['a cut-off string', async () => (await sessionFor('127.0.0.1', 443)).slice(0, 120), 'it decodes to 89 bytes, too few for a data center, its address, a port and a 256-byte auth key: was it cut short?'],
    ['a string with bytes added', async () => (await sessionFor('127.0.0.1', 443)) + 'AAAA', 'its auth key is 259 bytes, expected 256'],
  ])('refuse %s (CONFIG), never quoting it', async (_what, make, reason) => {
    const session = await make();
    let error: unknown;
    try {
      parseSession(session);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'CONFIG', exitCode: 3, message: `Invalid TELEGRAM_SESSION: expected a session string made by "chatcast login" (${reason})` });
    expect((error as Error).message).not.toContain(session.slice(0, 8));
  });
});

// The CLI against a Telegram that cannot be reached: nothing here leaves 127.0.0.1.
// Concurrent: each case waits on its own server, and none may write to the shared workspace.
describe.concurrent('ingest --source mtproto when Telegram is unreachable or the session is malformed', () => {
  const credentials = { TELEGRAM_API_ID: '12345', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef' };
  const servers: Server[] = [];
  let ws: string;

  beforeAll(async () => {
    ws = join(await tempDir(), 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--source', 'mtproto'])).exitCode).toBe(0);
    const params = join(ws, 'params.yaml');
    await writeFile(params, (await readFile(params, 'utf8')).replace('chat: ""', 'chat: "@chatcast_test_chat"'));
  });
  afterAll(() => {
    for (const server of servers) server.close();
  });

  // A TCP server on 127.0.0.1 at a port below 32768 (GramJS stores the port as a signed 16-bit number).
  async function listen(onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
    for (;;) {
      const port = 20000 + Math.floor(Math.random() * 12000);
      const server = createServer((socket) => {
        socket.on('error', () => undefined);
        onConnection(socket);
      });
      const ok = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
      if (ok) {
        servers.push(server);
        return { port, server };
      }
    }
  }

  async function ingestWith(session: string, timeoutSeconds = 30) {
    const before = await snapshot(ws);
    const started = Date.now();
    const run = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws], { ...credentials, TELEGRAM_SESSION: session, CHATCAST_TELEGRAM_TIMEOUT_SECONDS: String(timeoutSeconds) });
    const seconds = (Date.now() - started) / 1000;
    expect(await snapshot(ws)).toEqual(before);
    const output = run.stdout + run.stderr;
    expect(output).not.toContain(session.slice(1, 40));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    return { ...run, seconds };
  }

  it('a closed port: exit 7 after a bounded number of attempts, quoting the address and the reason', async () => {
    const { port, server } = await listen(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    const run = await ingestWith(await sessionFor('127.0.0.1', port));
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toContain(`chatcast ingest: Telegram is unreachable (no connection to DC 2 at 127.0.0.1:${port} after 3 attempts: ECONNREFUSED): retry later`);
    expect(run.seconds).toBeLessThan(60); // the CLI's own start-up is slow on a loaded machine: the tight bounds are measured in-process below
  });

  it.each([
    ['stays silent', (_socket: Socket) => undefined],
    ['answers garbage', (socket: Socket) => void socket.write(Buffer.alloc(64, 0x41))],
  ])('a server that accepts and %s: exit 7 within CHATCAST_TELEGRAM_TIMEOUT_SECONDS', async (_what, behave) => {
    const { port } = await listen(behave);
    const run = await ingestWith(await sessionFor('127.0.0.1', port), 3);
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toContain(`chatcast ingest: Telegram is unreachable (no answer from DC 2 at 127.0.0.1:${port} within 3 s): retry later`);
    expect(run.seconds).toBeLessThan(60); // the CLI's own start-up is slow on a loaded machine: the tight bounds are measured in-process below
  });

  it('a server that hangs up on every connection: exit 7 once the reconnections are used up', async () => {
    const { port } = await listen((socket) => void socket.destroy());
    const run = await ingestWith(await sessionFor('127.0.0.1', port));
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toContain(`chatcast ingest: Telegram is unreachable (DC 2 at 127.0.0.1:${port}: `);
    expect(run.seconds).toBeLessThan(60); // the CLI's own start-up is slow on a loaded machine: the tight bounds are measured in-process below
  });

  it('in-process, with a real GramJS client: a closed port fails in about CONNECTION_RETRIES seconds, a silent server at the timeout', async () => {
    const env = (session: string, timeout: string) => ({ ...credentials, TELEGRAM_SESSION: session, CHATCAST_TELEGRAM_TIMEOUT_SECONDS: timeout });
    const closed = await listen(() => undefined);
    await new Promise((resolve) => closed.server.close(resolve));
    let started = Date.now();
    await expect(connectHistory({ storeText: false }, env(await sessionFor('127.0.0.1', closed.port), '30'))).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: `Telegram is unreachable (no connection to DC 2 at 127.0.0.1:${closed.port} after 3 attempts: ECONNREFUSED): retry later`,
    });
    expect(Date.now() - started).toBeLessThan(8000);
    const silent = await listen(() => undefined);
    started = Date.now();
    await expect(connectHistory({ storeText: false }, env(await sessionFor('127.0.0.1', silent.port), '2'))).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: `Telegram is unreachable (no answer from DC 2 at 127.0.0.1:${silent.port} within 2 s): retry later`,
    });
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it.each([
    ['not a session at all', async () => 'xyzzy-not-a-session-secret', 'it does not start with 1'],
    ['a truncated session', async () => (await sessionFor('127.0.0.1', 443)).slice(0, 200), 'too few for a data center'],
  ])('%s: exit 3 naming the rule, never echoing the secret', async (_what, make, reason) => {
    const session = await make();
    const run = await ingestWith(session);
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toContain('chatcast ingest: Invalid TELEGRAM_SESSION: expected a session string made by "chatcast login" (');
    expect(run.stderr).toContain(reason);
    expect(run.stdout + run.stderr).not.toContain(session);
  });
});

import { describe, expect, it } from 'vitest';
import { Api, type TelegramClient } from 'telegram';
import { connectHistory, credentialsFromEnv, GramjsHistory, kindOf, toMessage } from '../../tasks/io/mtproto.js';

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
  it('fails clearly, without prompting, when the stored session was revoked', async () => {
    let destroyed = false;
    const client = {
      connect: async () => true,
      checkAuthorization: async () => false,
      destroy: async () => void (destroyed = true),
    } as unknown as TelegramClient;
    await expect(connectHistory(false, {}, client)).rejects.toMatchObject({
      code: 'CONFIG',
      message: 'TELEGRAM_SESSION is no longer authorised (logged out or revoked): run "chatcast login" again and store the new session string',
    });
    expect(destroyed).toBe(true);
  });
});

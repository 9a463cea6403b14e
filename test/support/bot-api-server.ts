import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A Telegram Bot API server on 127.0.0.1 for the tests: the methods chatcast uses, as
// https://core.telegram.org/bots/api specifies them: POST /bot<token>/<method>, multipart/form-data
// with files referenced as attach://<name>, and the {ok, result} / {ok:false, error_code,
// description, parameters} envelope.
export interface ReceivedAlbum {
  chatId: string;
  caption: string | undefined;
  photos: { name: string; type: string; bytes: Buffer }[];
}

export interface BotApiServer {
  url: string;
  albums: ReceivedAlbum[];
  calls: { method: string; status: number }[];
  // The next N sendMediaGroup calls get 429 with this retry_after.
  throttleNext: (calls: number, retryAfterSeconds: number) => void;
  close: () => Promise<void>;
}

export async function startBotApiServer(options: { token: string; chats: string[] }): Promise<BotApiServer> {
  const albums: ReceivedAlbum[] = [];
  const calls: { method: string; status: number }[] = [];
  let throttled = 0;
  let retryAfter = 1;
  let nextMessageId = 100;

  const reply = (res: ServerResponse, status: number, body: object, method: string) => {
    calls.push({ method, status });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, code: number, description: string, method: string, parameters?: object) =>
    reply(res, code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }, method);

  async function form(req: IncomingMessage): Promise<FormData> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = new Request('http://local/', { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/json')) {
      const data = new FormData();
      for (const [k, v] of Object.entries(await request.json())) data.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      return data;
    }
    return request.formData();
  }

  const server = createServer(async (req, res) => {
    const match = req.url?.match(/^\/bot([^/]+)\/(\w+)$/);
    const method = match?.[2] ?? '?';
    if (!match || req.method !== 'POST') return fail(res, 404, 'Not Found', method);
    if (match[1] !== options.token) return fail(res, 401, 'Unauthorized', method);
    if (method === 'getMe') return reply(res, 200, { ok: true, result: { id: 1, is_bot: true, first_name: 'chatcast', username: 'chatcast_bot' } }, method);
    if (method !== 'sendMediaGroup') return fail(res, 404, `Not Found: method ${method} not implemented here`, method);
    let data: FormData;
    try {
      data = await form(req);
    } catch {
      return fail(res, 400, 'Bad Request: cannot parse the request body', method);
    }
    if (throttled > 0) {
      throttled--;
      return fail(res, 429, `Too Many Requests: retry after ${retryAfter}`, method, { retry_after: retryAfter });
    }
    const chatId = String(data.get('chat_id') ?? '');
    if (!options.chats.includes(chatId)) return fail(res, 400, 'Bad Request: chat not found', method);
    let media: { type: string; media: string; caption?: string }[];
    try {
      media = JSON.parse(String(data.get('media')));
    } catch {
      return fail(res, 400, 'Bad Request: can\'t parse media JSON object', method);
    }
    if (!Array.isArray(media) || media.length < 2 || media.length > 10) {
      return fail(res, 400, 'Bad Request: wrong number of media in the group: must contain 2-10 items', method);
    }
    const photos: ReceivedAlbum['photos'] = [];
    for (const item of media) {
      const ref = item.media.match(/^attach:\/\/(.+)$/);
      const part = ref ? data.get(ref[1]) : null;
      if (!ref || !(part instanceof Blob)) return fail(res, 400, `Bad Request: file ${item.media} not found in the request`, method);
      photos.push({ name: (part as File).name, type: part.type, bytes: Buffer.from(await part.arrayBuffer()) });
    }
    albums.push({ chatId, caption: media[0].caption, photos });
    const date = Math.floor(Date.now() / 1000);
    const result = media.map((item, i) => ({
      message_id: nextMessageId++,
      date,
      chat: { id: -1001234567890, type: 'channel', title: chatId },
      media_group_id: String(albums.length),
      photo: [{ file_id: `photo-${albums.length}-${i}`, file_unique_id: `u${albums.length}${i}`, width: 1200, height: 600 }],
      ...(item.caption ? { caption: item.caption } : {}),
    }));
    reply(res, 200, { ok: true, result }, method);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    albums,
    calls,
    throttleNext: (n, seconds) => {
      throttled = n;
      retryAfter = seconds;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

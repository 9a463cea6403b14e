import { Api, InputFile, TelegramApiError } from 'node-telegram-bot-api';
import { ChatcastError } from '../core/errors.js';

// Where the report goes: the bot, the channel, and the Bot API server (api.telegram.org unless self-hosted).
export interface BotConfig {
  token: string;
  chatId: string;
  apiRoot?: string;
}

// TELEGRAM_BOT_TOKEN, TELEGRAM_REPORT_CHAT, TELEGRAM_API_ROOT; undefined when there is no token.
export function botConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BotConfig | undefined {
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return undefined;
  if (!/^\d+:[\w-]{20,}$/.test(token)) {
    throw new ChatcastError('CONFIG', 'Invalid TELEGRAM_BOT_TOKEN: expected the token @BotFather gave, like 123456:ABC-DEF… (not shown here)');
  }
  const chatId = env.TELEGRAM_REPORT_CHAT ?? '';
  if (!/^(@[A-Za-z]\w{3,31}|-?\d{1,20})$/.test(chatId)) {
    throw new ChatcastError(
      'CONFIG',
      chatId
        ? `Invalid TELEGRAM_REPORT_CHAT "${chatId}": expected the channel as @username or a numeric id such as -1001234567890`
        : 'TELEGRAM_REPORT_CHAT is not set: name the channel to post to (@username or -100… id)',
    );
  }
  return { token, chatId, apiRoot: env.TELEGRAM_API_ROOT || undefined };
}

// Posts the charts as one album with the caption on the first photo; returns the message ids.
// A 429 is retried after its retry_after (by the client); any other refusal carries Telegram's
// description; the token never appears in the error.
export async function postAlbum(
  config: BotConfig,
  caption: string,
  photos: { filename: string; bytes: Uint8Array }[],
): Promise<number[]> {
  const api = new Api(config.token, { apiRoot: config.apiRoot, maxRetries: 3, maxRetryAfterMs: 300_000 });
  try {
    const sent = await api.sendMediaGroup({
      chat_id: config.chatId,
      media: photos.map((p, i) => ({
        type: 'photo' as const,
        media: new InputFile(p.bytes, { filename: p.filename, contentType: 'image/png' }),
        ...(i === 0 ? { caption } : {}),
      })),
    });
    return sent.map((m) => m.message_id);
  } catch (error) {
    const hide = (text: string) => text.split(config.token).join('[TELEGRAM_BOT_TOKEN]');
    if (error instanceof TelegramApiError) {
      const retryable = error.errorCode === 429 || error.errorCode >= 500;
      throw new ChatcastError(
        retryable ? 'EXTERNAL' : 'CONFIG',
        `Telegram refused sendMediaGroup to ${config.chatId} (error ${error.errorCode}): ${hide(error.description)}`,
      );
    }
    throw new ChatcastError('EXTERNAL', `Posting to Telegram failed: ${hide((error as Error).message)}`);
  }
}

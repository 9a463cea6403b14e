import type { Message } from '../../tasks/core/messages.js';
import type { History } from '../../tasks/core/telegram.js';

// A chat history served in pages, as Telegram does: ids after `afterId`, oldest first; `script`
// injects failures (FloodWaits) before given calls.
export function scriptedHistory(all: Message[], script: Record<number, Error> = {}, chat = { id: '-1001234567890', title: 'Учебный чат' }) {
  const calls: { afterId: number; limit: number }[] = [];
  const history: History = {
    resolve: async () => chat,
    async after(_chat, afterId, limit) {
      calls.push({ afterId, limit });
      const failure = script[calls.length];
      if (failure) throw failure;
      return all.filter((m) => m.id! > afterId).slice(0, limit);
    },
    firstIdFrom: async (_chat, atMs) => all.find((m) => Date.parse(m.at) >= atMs)?.id ?? undefined,
  };
  return { history, calls };
}


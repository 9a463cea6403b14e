import { describe, expect, it } from 'vitest';
import type { TelegramClient } from 'telegram';
import { loginWith } from '../../tasks/commands/login.js';
import { chatcast } from '../helpers.js';

// A client that plays Telegram's side of the phone-code flow: it asks what GramJS's start() asks.
function fakeClient(flow: { needsPassword: boolean; failWith?: Error }) {
  const seen: Record<string, string> = {};
  const client = {
    session: { save: () => '1BVtsFakeSessionForTests' },
    async start(auth: { phoneNumber: () => Promise<string>; phoneCode: () => Promise<string>; password: (hint?: string) => Promise<string>; onError: (e: Error) => void }) {
      seen.phone = await auth.phoneNumber();
      seen.code = await auth.phoneCode();
      if (flow.needsPassword) seen.password = await auth.password('кошка');
      if (flow.failWith) auth.onError(flow.failWith);
    },
  } as unknown as Pick<TelegramClient, 'start' | 'session'>;
  return { client, seen };
}

describe('chatcast login', () => {
  it('asks for the phone, the code and the 2FA password (not echoed), and returns the session string', async () => {
    const { client, seen } = fakeClient({ needsPassword: true });
    const asked: [string, boolean][] = [];
    const answers = ['+4915112345678', '12345', 'secret'];
    const session = await loginWith(client, async (q, hidden = false) => {
      asked.push([q, hidden]);
      return answers[asked.length - 1];
    });
    expect(session).toBe('1BVtsFakeSessionForTests');
    expect(seen).toEqual({ phone: '+4915112345678', code: '12345', password: 'secret' });
    expect(asked.map(([q, h]) => [q.split(' (')[0].split(',')[0], h])).toEqual([
      ['Phone number', false],
      ['Code Telegram sent you: ', false],
      ['Two-step verification password', true],
    ]);
    expect(asked[2][0]).toContain('(hint: кошка)');
  });

  it("turns Telegram's refusal into a clear error", async () => {
    const { client } = fakeClient({ needsPassword: false, failWith: new Error('PHONE_CODE_INVALID') });
    await expect(loginWith(client, async () => 'x')).rejects.toThrow('Telegram login failed: PHONE_CODE_INVALID');
  });

  it('refuses to run without a terminal or without api_id, never hanging on a prompt', async () => {
    const noTty = await chatcast(['login'], { TELEGRAM_API_ID: '12345', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef' });
    expect(noTty.exitCode).toBe(2);
    expect(noTty.stderr).toContain('chatcast login asks for a phone number, a code and maybe a password: run it on a terminal');
    const noId = await chatcast(['login']);
    expect(noId.exitCode).toBe(3);
    expect(noId.stderr).toContain('TELEGRAM_API_ID is not set');
  });
});

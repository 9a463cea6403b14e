import { createInterface } from 'node:readline/promises';
import { ChatcastError } from '../core/errors.js';
import type { TelegramClient } from 'telegram';
import { defineCommand } from './command.js';

// Asks on the terminal; the answer is not echoed when `hidden` (the 2FA password).
async function ask(question: string, hidden = false): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput?.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => write?.(s.startsWith(question) ? question : '');
  }
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}

// The questions login asks, answered on a terminal (or by a test).
export type Ask = (question: string, hidden?: boolean) => Promise<string>;

// Logs a fresh client in through Telegram's phone-code flow and returns its session string.
export async function loginWith(client: Pick<TelegramClient, 'start' | 'session'>, answer: Ask): Promise<string> {
  await client.start({
    phoneNumber: () => answer('Phone number, international format (+49…): '),
    phoneCode: () => answer('Code Telegram sent you: '),
    password: (hint?: string) => answer(`Two-step verification password${hint ? ` (hint: ${hint})` : ''}: `, true),
    onError: (error: Error) => {
      throw new ChatcastError('EXTERNAL', `Telegram login failed: ${error.message}`, { cause: error });
    },
  });
  return String(client.session.save());
}

// `chatcast login`: the one interactive step. The pipeline never prompts; it only reads the string this prints.
export default defineCommand<Record<string, never>>({
  name: 'login',
  describe: 'Log in to Telegram once (phone, code, 2FA password) and print the TELEGRAM_SESSION string',
  args: {},
  async run(_args, ctx) {
    const { createClient, credentialsFromEnv, timeoutFromEnv, withDeadline, CONNECTION_RETRIES } = await import('../io/mtproto.js');
    const credentials = credentialsFromEnv(process.env, false);
    if (!process.stdin.isTTY || !process.stderr.isTTY) {
      throw new ChatcastError('USAGE', 'chatcast login asks for a phone number, a code and maybe a password: run it on a terminal');
    }
    const client = createClient({ ...credentials, session: '' });
    try {
      // GramJS's start() would wait forever on a Telegram it cannot reach (Node then exits 13, silent).
      const seconds = timeoutFromEnv();
      const unreachable = (why: string) => new ChatcastError('EXTERNAL', `Telegram is unreachable (${why}): retry later`);
      if (!(await withDeadline(client.connect(), seconds, () => unreachable(`no answer within ${seconds} s`)))) throw unreachable(`no connection after ${CONNECTION_RETRIES} attempts`);
      const session = await loginWith(client, ask);
      process.stderr.write(
        [
          '',
          'Logged in. The line below is TELEGRAM_SESSION: it grants full access to this account, keep it secret.',
          'Store it where the pipeline reads it, e.g. as an Airflow Connection:',
          '  airflow connections add chatcast_telegram --conn-type generic \\',
          '    --conn-login "$TELEGRAM_API_ID" --conn-password "$TELEGRAM_API_HASH" --conn-extra \'{"session": "<the line below>"}\'',
          '',
        ].join('\n'),
      );
      process.stdout.write(session + '\n');
      ctx.log.debug({ step: 'login' }, 'session created');
    } finally {
      await client.destroy().catch(() => undefined);
    }
  },
});

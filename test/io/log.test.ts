import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../tasks/io/log.js';

const TOKEN = '123456:AAFakeBotTokenForTests';
const SESSION = '1BVtsOK8Bu3FakeSessionString==';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ pretty: false, destination: { write: (line: string) => lines.push(line) } });
  return { log, lines };
}

afterEach(() => {
  delete process.env.TELEGRAM_BOT_TOKEN;
  delete process.env.TELEGRAM_SESSION;
});

describe('logs', () => {
  it('are JSON lines with the step and the message', () => {
    const { log, lines } = capture();
    log.info({ step: 'ingest', day: '2024-03-01' }, 'ingested 3 messages');
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, app: 'chatcast', step: 'ingest', day: '2024-03-01', msg: 'ingested 3 messages' });
  });

  it('never show a secret: not under a secret key, not inside a message, not inside an error', () => {
    process.env.TELEGRAM_BOT_TOKEN = TOKEN;
    process.env.TELEGRAM_SESSION = SESSION;
    const { log, lines } = capture();
    log.info({ token: TOKEN, client: { session: SESSION }, url: `https://api.telegram.org/bot${TOKEN}/sendMediaGroup` }, `posting with ${TOKEN}`);
    log.error({ err: new Error(`request to /bot${TOKEN}/getMe failed`) }, 'failed');
    const out = lines.join('');
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(SESSION);
    expect(out).toContain('[redacted]');
    expect(out).toContain('/bot[TELEGRAM_BOT_TOKEN]/sendMediaGroup');
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { openWorkspace } from '../../tasks/io/workspace.js';
import { ingest } from '../../tasks/commands/ingest.js';
import { aggregate } from '../../tasks/commands/aggregate.js';
import { evaluate } from '../../tasks/commands/evaluate.js';
import { train } from '../../tasks/commands/train.js';
import { forecast } from '../../tasks/commands/forecast.js';
import { render } from '../../tasks/commands/render.js';
import { report } from '../../tasks/commands/report.js';
import { pushState } from '../../tasks/io/versioning.js';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { execa } from 'execa';
import { chatcast, quietContext, snapshot, tempDir } from '../helpers.js';
import { startBotApiServer, type BotApiServer } from '../support/bot-api-server.js';
import { dayPath } from '../../tasks/core/pipeline.js';

const TOKEN = '123456789:AAF-test-token-for-the-local-bot-api';
const DAY = '2024-03-30';
let ws: string;
let server: BotApiServer;
const env = () => ({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_REPORT_CHAT: '@chatcast_channel', TELEGRAM_API_ROOT: server.url });

beforeAll(async () => {
  server = await startBotApiServer({ token: TOKEN, chats: ['@chatcast_channel'] });
  ws = join(await tempDir(), 'ws');
  expect((await chatcast(['init', '--workspace', ws])).exitCode).toBe(0);
  const workspace = await openWorkspace(ws);
  const ctx = quietContext();
  for (const day of daysFrom('2024-03-20', DAY)) {
    await ingest(workspace, day, ctx);
    await aggregate(workspace, day, ctx);
  }
  await train(workspace, '2024-03-29', ctx);
  await forecast(workspace, '2024-03-29', ctx);
  await evaluate(workspace, DAY, ctx);
  await train(workspace, DAY, ctx);
  await forecast(workspace, DAY, ctx);
  await render(workspace, DAY, ctx);
  // The day is pushed before anything is posted: the pushed report/ has no ledger.
  await report(workspace, DAY, ctx, { env: {} });
  await pushState(ws, DAY, ctx.log);
}, 120_000);

afterAll(() => server.close());

describe('report through the Bot API (a local server speaking its protocol)', () => {
  it('without a bot token writes the outbox and says nothing was posted', async () => {
    const run = await chatcast(['report', '--date', DAY, '--workspace', ws]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`TELEGRAM_BOT_TOKEN is not set: the report for ${DAY} is in`);
    expect(server.calls).toEqual([]);
  });

  it('posts one album of the two charts with the caption, honouring a 429 retry_after, and records it in the ledger', async () => {
    server.throttleNext(1, 1);
    const started = Date.now();
    const run = await chatcast(['report', '--date', DAY, '--workspace', ws], env());
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(server.calls).toEqual([
      { method: 'sendMediaGroup', status: 429 },
      { method: 'sendMediaGroup', status: 200 },
    ]);
    expect(server.albums).toHaveLength(1);
    const [album] = server.albums;
    expect(album.chatId).toBe('@chatcast_channel');
    expect(album.photos.map((p) => [p.name, p.type])).toEqual([
      [`chatcast-${DAY}-actual.png`, 'image/png'],
      [`chatcast-${DAY}-forecast.png`, 'image/png'],
    ]);
    for (const photo of album.photos) {
      const png = PNG.sync.read(photo.bytes);
      expect([png.width, png.height]).toEqual([1200, 600]);
    }
    expect(album.photos[0].bytes.equals(await readFile(join(ws, dayPath('render', DAY), 'actual.png')))).toBe(true);
    const caption = album.caption!;
    expect(caption).toContain(`Учебный чат — ${DAY} (Europe/Berlin)`);
    expect(caption).toMatch(/Вчера: \d+ сообщени[еяй], прогноз был \d+\./);
    expect(caption).toMatch(/Ошибка: MAE \d+\.\d\d против \d+\.\d\d у прогноза «как вчера»/);
    expect(caption).toMatch(/Сегодня \(2024-03-31\): ожидается (\d+–)?\d+ сообщени[еяй]( \(в среднем \d+\))?, пик около \d\d:\d\d\./);
    const today = JSON.parse(await readFile(join(ws, dayPath('forecast', '2024-03-31', '.json')), 'utf8'));
    const [lo, hi] = today.total_range.map((v: number) => Math.round(v));
    expect(caption).toContain(lo === hi ? `ожидается ${lo} ` : `ожидается ${lo}–${hi} `);
    expect(caption).toBe((await readFile(join(ws, dayPath('report/outbox', DAY), 'caption.txt'), 'utf8')).trimEnd());
    const ledger = JSON.parse(await readFile(join(ws, 'report', 'ledger.json'), 'utf8'));
    expect(ledger.days[DAY]).toMatchObject({ chat: '@chatcast_channel', message_ids: [100, 101] });
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('never posts twice: a rerun sends nothing and says so; --force posts again', async () => {
    const before = await snapshot(ws);
    const rerun = await chatcast(['report', '--date', DAY, '--workspace', ws], env());
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain(`the report for ${DAY} was already posted to @chatcast_channel`);
    expect(server.albums).toHaveLength(1);
    expect(await snapshot(ws)).toEqual(before);
    const forced = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], env());
    expect(forced.exitCode).toBe(0);
    expect(server.albums).toHaveLength(2);
  });

  it('keeps the ledger through a pull that restores the pushed state (which has none), so a retried run does not post again', async () => {
    expect((await chatcast(['pull', '--date', DAY, '--workspace', ws])).exitCode).toBe(0);
    const ledger = JSON.parse(await readFile(join(ws, 'report', 'ledger.json'), 'utf8'));
    expect(Object.keys(ledger.days)).toEqual([DAY]);
    const status = await execa(dvcBinary(), ['status', 'report'], { cwd: ws });
    expect(status.stdout).toMatch(/report:[\s\S]*modified:\s+report/); // the pulled report/ lacked the ledger
    const again = await chatcast(['report', '--date', DAY, '--workspace', ws], env());
    expect(again.stdout).toContain('was already posted');
    expect(server.albums).toHaveLength(2);
  });

  it("fails with Telegram's description, and never shows the token", async () => {
    const run = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], { ...env(), TELEGRAM_REPORT_CHAT: '@no_such_channel' });
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain('Telegram refused sendMediaGroup to @no_such_channel (error 400): Bad Request: chat not found');
    const wrongToken = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], { ...env(), TELEGRAM_BOT_TOKEN: '987654321:AAF-another-token-not-known-here' });
    expect(wrongToken.exitCode).toBe(3);
    expect(wrongToken.stderr).toContain('(error 401): Unauthorized');
    for (const out of [run.stdout, run.stderr, wrongToken.stdout, wrongToken.stderr]) {
      expect(out).not.toContain(TOKEN);
      expect(out).not.toContain('987654321:AAF-another-token-not-known-here');
    }
    const unreachable = await chatcast(['report', '--date', DAY, '--workspace', ws, '--force'], { ...env(), TELEGRAM_API_ROOT: 'http://127.0.0.1:9' });
    expect(unreachable.exitCode).toBe(7);
    expect(unreachable.stderr + unreachable.stdout).not.toContain(TOKEN);
  });
});

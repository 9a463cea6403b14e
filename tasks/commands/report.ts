import { readFile } from 'node:fs/promises';
import { addDays } from '../core/dates.js';
import { caption } from '../core/caption.js';
import { ChatcastError } from '../core/errors.js';
import { dayPath, PATHS } from '../core/pipeline.js';
import { writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { readForecast, readLedger, readMetrics, readTrackLedger, writeLedger } from '../io/artifacts.js';
import type { Ledger } from '../core/ledger.js';
import { trackerLink, TRACKERS, type TrackerName } from '../core/tracking.js';
import { chosenTrackers } from '../core/params.js';
import { chartPaths } from './render.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Writes the channel message for D (caption + two charts) into report/outbox/YYYY-MM/D/ and, with a bot
// token, posts it once: the ledger records the post as begun before sending and the message ids after,
// so a rerun posts nothing unless forced, even after a crash between the two (see postOnce).
export async function report(ws: Workspace, day: string, ctx: Context, options: { force?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const env = options.env ?? process.env;
  // The Bot API client loads only when there is a bot to post with.
  const botapi = env.TELEGRAM_BOT_TOKEN ? await import('../io/botapi.js') : undefined;
  const bot = botapi?.botConfigFromEnv(env);
  const evaluation = await readMetrics(ws, day);
  const today = await readForecast(ws, addDays(day, 1));
  if (!today) throw new ChatcastError('STATE', `Missing forecast for ${addDays(day, 1)}: run "chatcast forecast --date ${day}" first`);
  const charts = chartPaths(ws, day);
  const [actualPng, forecastPng] = await Promise.all(
    [charts.actual, charts.forecast].map((p) =>
      readFile(p).catch((error) => {
        throw new ChatcastError('STATE', `Missing chart "${p}": run "chatcast render --date ${day}" first`, { cause: error });
      }),
    ),
  );
  const text = caption({
    title: ws.params.chat.title,
    day,
    zone: ws.params.chat.timezone,
    language: ws.params.render.language,
    evaluation,
    today,
    trackerUrl: trackerLink(await readTrackLedger(ws), day, linkOrder(chosenTrackers(ws.params, env))),
  });
  // Read before the outbox is written, so a corrupt ledger stops the step with nothing changed.
  const ledger = bot ? await readLedger(ws) : undefined;
  const dir = ws.path(dayPath(PATHS.outbox, day));
  const message = { day, caption: text, photos: ['actual.png', 'forecast.png'] };
  await writeFiles([
    { path: `${dir}/actual.png`, data: actualPng },
    { path: `${dir}/forecast.png`, data: forecastPng },
    { path: `${dir}/caption.txt`, data: text + '\n' },
    { path: `${dir}/message.json`, data: JSON.stringify(message, null, 2) + '\n' },
  ]);
  if (!botapi || !bot || !ledger) {
    ctx.log.warn({ step: 'report', day, outbox: dir }, `TELEGRAM_BOT_TOKEN is not set: the report for ${day} is in ${dir}, nothing was posted`);
    return { dir, caption: text, posted: false };
  }
  const sent = ledger.days[day];
  if (sent && !options.force) {
    ctx.log.info({ step: 'report', day, sent }, `the report for ${day} was already posted to ${sent.chat} at ${sent.sent_at} (messages ${sent.message_ids.join(', ')}): nothing sent; --force posts it again`);
    return { dir, caption: text, posted: false };
  }
  const ids = await postOnce(ws, ledger, day, bot.chatId, ctx, options.force ?? false, () =>
    botapi.postAlbum(bot, text, [
      { filename: `chatcast-${day}-actual.png`, bytes: actualPng },
      { filename: `chatcast-${day}-forecast.png`, bytes: forecastPng },
    ]),
  );
  ctx.log.info({ step: 'report', day, chat: bot.chatId, messageIds: ids }, `posted the report for ${day} to ${bot.chatId} (messages ${ids.join(', ')})`);
  return { dir, caption: text, posted: true };
}

// Posts D at most once across crashes. The intent ("pending") is in the ledger before the album is
// sent and the message ids replace it after. A process that dies in between leaves the intent, and the
// Bot API cannot read a channel's history to see whether the album went out: the rerun refuses (exit 6)
// until a person has looked and chosen --force. A send that fails (Telegram refused, or could not be
// reached) went nowhere: its intent is dropped, so a retry posts.
async function postOnce(ws: Workspace, ledger: Ledger, day: string, chat: string, ctx: Context, force: boolean, post: () => Promise<number[]>): Promise<number[]> {
  const begun = ledger.pending?.[day];
  if (begun && !force) {
    throw new ChatcastError(
      'STATE',
      `The report for ${day} may already be in ${begun.chat}: ${PATHS.ledger} records a post begun at ${begun.since} whose message ids were never recorded (the process stopped while posting), and the Bot API cannot read the channel to check. A post that may have gone out is not repeated without --force: look at ${begun.chat}, and if the report for ${day} is not there, rerun "chatcast report --date ${day} --force"`,
    );
  }
  ledger.pending = { ...ledger.pending, [day]: { chat, since: new Date(ctx.now()).toISOString() } };
  await writeLedger(ws, ledger);
  let ids: number[];
  try {
    ids = await post();
  } catch (error) {
    delete ledger.pending[day];
    await writeLedger(ws, ledger).catch((cause: unknown) => ctx.log.warn({ step: 'report', day, err: cause }, `could not drop the intent to post ${day} from ${PATHS.ledger}: the next report for ${day} will ask for --force`));
    throw error;
  }
  delete ledger.pending[day];
  ledger.days[day] = { chat, message_ids: ids, sent_at: new Date(ctx.now()).toISOString() };
  await writeLedger(ws, ledger).catch((error: unknown) => {
    throw new ChatcastError('EXTERNAL', `Posted the report for ${day} to ${chat} (messages ${ids.join(', ')}) but could not record it in ${PATHS.ledger}: ${(error as Error).message}. Its intent stays there, so a rerun will not post it again`, { cause: error });
  });
  return ids;
}

// Which tracker's page the post links first: the order trackers are chosen in, then any other that has the day.
function linkOrder(chosen: readonly TrackerName[]): TrackerName[] {
  return [...new Set([...chosen, ...TRACKERS])].filter((t) => t !== 'local');
}

// `chatcast report`
export default defineCommand<StepArgs & { force?: boolean }>({
  name: 'report',
  describe: "Write the day's channel message to report/outbox/YYYY-MM/DAY/ and post it with the bot (once)",
  args: {
    ...STEP_ARGS,
    force: { type: 'boolean', default: false, describe: 'Post again even if the ledger says this day was posted' },
  },
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'report' });
    if (history) return history;
    return report(ws, day, ctx, { force: args.force });
  },
});

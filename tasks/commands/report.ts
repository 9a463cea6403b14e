import { readFile } from 'node:fs/promises';
import { addDays } from '../core/dates.js';
import { caption } from '../core/caption.js';
import { ChatcastError } from '../core/errors.js';
import type { Evaluation } from '../core/evaluation.js';
import { emptyLedger, formatLedger, mergeLedgers, type Ledger } from '../core/ledger.js';
import { PATHS } from '../core/pipeline.js';
import { botConfigFromEnv, postAlbum } from '../io/botapi.js';
import { exists, readText, writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { readForecast, readTrackLedger } from '../io/artifacts.js';
import { trackerLink, TRACKERS, type TrackerName } from '../core/tracking.js';
import { chosenTrackers } from '../core/params.js';
import { chartPaths } from './render.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Reads report/ledger.json (empty when nothing was posted yet).
export async function readLedger(ws: Workspace): Promise<Ledger> {
  const file = ws.path(PATHS.ledger);
  return (await exists(file)) ? (JSON.parse(await readText(file, 'report ledger')) as Ledger) : emptyLedger();
}

// Puts back ledger entries a pull would drop (posted, but not pushed yet), so no day is posted twice.
export async function keepLedger(ws: Workspace, before: Ledger): Promise<void> {
  const merged = formatLedger(mergeLedgers(before, await readLedger(ws)));
  if (Object.keys(before.days).length > 0) await writeFiles([{ path: ws.path(PATHS.ledger), data: merged }]);
}

// Writes the channel message for D (caption + two charts) into report/outbox/D/ and, with a bot
// token, posts it once: the ledger records the sent message ids, and a rerun posts nothing unless forced.
export async function report(ws: Workspace, day: string, ctx: Context, options: { force?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const env = options.env ?? process.env;
  const bot = botConfigFromEnv(env);
  const metricsFile = ws.path(PATHS.metrics);
  const evaluation = JSON.parse(await readText(metricsFile, 'metrics', `run "chatcast evaluate --date ${day}" first`)) as Evaluation;
  if (evaluation.day !== day) {
    throw new ChatcastError('STATE', `${PATHS.metrics} holds ${evaluation.day}, not ${day}: run "chatcast evaluate --date ${day}" first`);
  }
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
  const dir = ws.path(PATHS.outbox, day);
  const message = { day, caption: text, photos: ['actual.png', 'forecast.png'] };
  await writeFiles([
    { path: `${dir}/actual.png`, data: actualPng },
    { path: `${dir}/forecast.png`, data: forecastPng },
    { path: `${dir}/caption.txt`, data: text + '\n' },
    { path: `${dir}/message.json`, data: JSON.stringify(message, null, 2) + '\n' },
  ]);
  if (!bot) {
    ctx.log.warn({ step: 'report', day, outbox: dir }, `TELEGRAM_BOT_TOKEN is not set: the report for ${day} is in ${dir}, nothing was posted`);
    return { dir, caption: text, posted: false };
  }
  const ledger = await readLedger(ws);
  const sent = ledger.days[day];
  if (sent && !options.force) {
    ctx.log.info({ step: 'report', day, sent }, `the report for ${day} was already posted to ${sent.chat} at ${sent.sent_at} (messages ${sent.message_ids.join(', ')}): nothing sent; --force posts it again`);
    return { dir, caption: text, posted: false };
  }
  const ids = await postAlbum(bot, text, [
    { filename: `chatcast-${day}-actual.png`, bytes: actualPng },
    { filename: `chatcast-${day}-forecast.png`, bytes: forecastPng },
  ]);
  ledger.days[day] = { chat: bot.chatId, message_ids: ids, sent_at: new Date(ctx.now()).toISOString() };
  await writeFiles([{ path: ws.path(PATHS.ledger), data: formatLedger(ledger) }]);
  ctx.log.info({ step: 'report', day, chat: bot.chatId, messageIds: ids }, `posted the report for ${day} to ${bot.chatId} (messages ${ids.join(', ')})`);
  return { dir, caption: text, posted: true };
}

// Which tracker's page the post links first: the order trackers are chosen in, then any other that has the day.
function linkOrder(chosen: readonly TrackerName[]): TrackerName[] {
  return [...new Set([...chosen, ...TRACKERS])].filter((t) => t !== 'local');
}

// `chatcast report`
export default defineCommand<StepArgs & { force?: boolean }>({
  name: 'report',
  describe: "Write the day's channel message to report/outbox/DAY/ and post it with the bot (once)",
  args: {
    ...STEP_ARGS,
    force: { type: 'boolean', default: false, describe: 'Post again even if the ledger says this day was posted' },
  },
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return report(ws, day, ctx, { force: args.force });
  },
});

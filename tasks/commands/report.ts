import { readFile } from 'node:fs/promises';
import { addDays } from '../core/dates.js';
import { caption } from '../core/caption.js';
import { ChatcastError } from '../core/errors.js';
import type { Evaluation } from '../core/evaluation.js';
import { PATHS } from '../core/pipeline.js';
import { readText, writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { readForecast } from './forecast.js';
import { chartPaths } from './render.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Writes the channel message for D (caption + two charts) into report/outbox/D/.
export async function report(ws: Workspace, day: string, ctx: Context) {
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
  const text = caption({ title: ws.params.chat.title, day, zone: ws.params.chat.timezone, language: ws.params.render.language, evaluation, today });
  const dir = ws.path(PATHS.outbox, day);
  const message = { day, caption: text, photos: ['actual.png', 'forecast.png'] };
  await writeFiles([
    { path: `${dir}/actual.png`, data: actualPng },
    { path: `${dir}/forecast.png`, data: forecastPng },
    { path: `${dir}/caption.txt`, data: text + '\n' },
    { path: `${dir}/message.json`, data: JSON.stringify(message, null, 2) + '\n' },
  ]);
  ctx.log.info({ step: 'report', day, outbox: dir }, `report for ${day} written to ${dir}`);
  return { dir, caption: text };
}

// `chatcast report`
export default defineCommand<StepArgs>({
  name: 'report',
  describe: "Write the day's channel message (caption and both charts) to report/outbox/DAY/",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return report(ws, day, ctx);
  },
});

import { addDays, dayHours } from '../core/dates.js';
import { evaluateDay, formatHistory, parseHistory, upsertHistory } from '../core/evaluation.js';
import { PATHS } from '../core/pipeline.js';
import { dayRows, type SeriesRow } from '../core/series.js';
import { naiveScale } from '../core/metrics.js';
import { ChatcastError } from '../core/errors.js';
import { exists, readText, writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { metricsFile, readForecast, readSeries } from '../io/artifacts.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Scores the forecast made for D against D's hours; the first day (no forecast) is a recorded skip.
export async function evaluate(ws: Workspace, day: string, ctx: Context) {
  const series = await readSeries(ws, day);
  const actual = dayRows(series, day);
  if (actual.length === 0 && dayHours(day, ws.params.chat.timezone).length > 0) {
    throw new ChatcastError('STATE', `The hourly series has no hours for ${day}: run "chatcast aggregate --date ${day}" first`);
  }
  const before = (series.objects() as SeriesRow[]).filter((r) => r.day < day).map((r) => r.messages);
  const evaluation = evaluateDay(day, actual, await readForecast(ws, day), dayRows(series, addDays(day, -1)), naiveScale(before));
  const historyFile = ws.path(PATHS.history);
  const history = (await exists(historyFile)) ? parseHistory(await readText(historyFile, 'metrics history'), historyFile) : undefined;
  await writeFiles([
    { path: historyFile, data: formatHistory(upsertHistory(history, evaluation)) },
    metricsFile(ws, evaluation),
  ]);
  if (evaluation.status === 'skipped') {
    ctx.log.warn({ step: 'evaluate', ...evaluation }, `evaluate skipped ${day}: ${evaluation.reason}`);
  } else {
    ctx.log.info({ step: 'evaluate', ...evaluation }, `scored ${day}: sMAPE ${evaluation.smape}, MAE ${evaluation.mae}, RMSE ${evaluation.rmse}, MASE ${evaluation.mase}, coverage ${evaluation.coverage80} (same hour yesterday: sMAPE ${evaluation.naive_smape}, MAE ${evaluation.naive_mae}, RMSE ${evaluation.naive_rmse})`);
  }
  return evaluation;
}

// `chatcast evaluate`
export default defineCommand<StepArgs>({
  name: 'evaluate',
  describe: 'Score the forecast made for the day against what happened (sMAPE, MAE, RMSE, MASE, pinball, coverage)',
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'evaluate' });
    if (history) return history;
    return evaluate(ws, day, ctx);
  },
});

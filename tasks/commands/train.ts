import { describeModel } from '../core/forecast.js';
import { valuesThrough } from '../core/series.js';
import { readSeries, writeModel } from '../io/artifacts.js';
import { initTf } from '../io/tf.js';
import type { Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Fits the forecaster on every hour up to the end of D: with train.model auto, chooses the chat's
// model by backtest on its own last weeks. An analogue model's fitted state is its library of past
// days: the hourly series through D, which the card (train/model.json) pins by its sha256.
export async function train(ws: Workspace, day: string, ctx: Context) {
  const { backend, skipped } = await initTf();
  const series = await readSeries(ws, day);
  const { values, starts } = valuesThrough(series, day, ws.params.chat.timezone);
  const card = describeModel(values, starts, ws.params.train, day, ws.params.chat.timezone);
  await writeModel(ws, card);
  const scores = card.choice?.scores ?? {};
  const compared = card.choice?.compared;
  ctx.log.info(
    { step: 'train', day, backend, backendsSkipped: skipped, model: card.model, reason: card.reason, hours: card.hours, compared, scores },
    `trained ${card.model.name} on ${card.hours} hours through ${day}` +
      (compared ? ` (chosen among ${Object.keys(scores).length} by mean quantile loss on ${compared.first} … ${compared.last}: ${scores[card.model.name]})` : '') +
      (card.reason ? ` (${card.reason})` : '') +
      ` (tfjs backend: ${backend})`,
  );
  return card;
}

// `chatcast train`
export default defineCommand<StepArgs>({
  name: 'train',
  describe: "Choose and fit the forecaster (params.yaml train) on the hourly series up to the end of the day",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'train' });
    if (history) return history;
    return train(ws, day, ctx);
  },
});

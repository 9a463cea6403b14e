import { readFile } from 'node:fs/promises';
import { ChatcastError } from '../core/errors.js';
import { bytesToValues, describeModel, valuesToBytes, type ModelCard } from '../core/forecast.js';
import { PATHS } from '../core/pipeline.js';
import { parseSeries, valuesThrough } from '../core/series.js';
import { readText, writeFiles } from '../io/files.js';
import { initTf } from '../io/tf.js';
import type { Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Fits the forecaster on every hour up to the end of D. A KNN's fitted state is its pattern
// library, so the model is the training series (train/values.bin) and its card (train/model.json).
export async function train(ws: Workspace, day: string, ctx: Context) {
  const { backend, skipped } = await initTf();
  const seriesFile = ws.path(PATHS.series);
  const series = parseSeries(
    await readText(seriesFile, 'hourly series', `run "chatcast aggregate --date ${day}" first`),
    seriesFile,
  );
  const { values, starts, days } = valuesThrough(series, day);
  const card = describeModel(values, starts, days, ws.params.train, day, ws.params.chat.timezone);
  await writeFiles([
    { path: ws.path(PATHS.modelValues), data: valuesToBytes(values) },
    { path: ws.path(PATHS.model), data: JSON.stringify(card, null, 2) + '\n' },
  ]);
  ctx.log.info(
    { step: 'train', day, backend, backendsSkipped: skipped, method: card.method, reason: card.reason, hours: card.hours, params: card.params },
    `trained ${card.method} on ${card.hours} hours through ${day} (tfjs backend: ${backend})`,
  );
  return card;
}

// Loads what `train` wrote and checks it was trained through `day`.
export async function loadModel(ws: Workspace, day: string): Promise<{ card: ModelCard; values: Float32Array }> {
  const hint = `run "chatcast train --date ${day}" first`;
  const card = JSON.parse(await readText(ws.path(PATHS.model), 'model card', hint)) as ModelCard;
  if (card.trained_through !== day) {
    throw new ChatcastError(
      'STATE',
      `The model in ${PATHS.model} was trained through ${card.trained_through}, not ${day}: ${hint}`,
    );
  }
  const values = bytesToValues(new Uint8Array(await readFile(ws.path(PATHS.modelValues))));
  return { card, values };
}

// `chatcast train`
export default defineCommand<StepArgs>({
  name: 'train',
  describe: 'Fit the forecaster (params.yaml train) on the hourly series up to the end of the day',
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return train(ws, day, ctx);
  },
});

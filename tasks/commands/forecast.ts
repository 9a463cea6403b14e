import { addDays, dayHours } from '../core/dates.js';
import { predictDay, type ForecastDoc } from '../core/forecast.js';
import { PATHS } from '../core/pipeline.js';
import { exists, readText, writeFiles } from '../io/files.js';
import { initTf } from '../io/tf.js';
import type { Workspace } from '../io/workspace.js';
import { loadModel } from './train.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Forecasts every hour of D+1 (24, or 23/25 on clock-change days) into forecast/D+1.json.
export async function forecast(ws: Workspace, day: string, ctx: Context) {
  const { backend } = await initTf();
  const { card, values } = await loadModel(ws, day);
  const target = addDays(day, 1);
  const doc = predictDay(card, values, dayHours(target, ws.params.chat.timezone), day, target);
  const file = ws.path(PATHS.forecasts, `${target}.json`);
  await writeFiles([{ path: file, data: JSON.stringify(doc, null, 2) + '\n' }]);
  ctx.log.info(
    { step: 'forecast', day, for: target, backend, method: doc.method, total: doc.total, peak: doc.peak, file },
    `forecast for ${target}: ${doc.total} messages, peak at ${doc.peak.local} (tfjs backend: ${backend})`,
  );
  return doc;
}

// Reads the forecast made for `day`, or undefined when none was made.
export async function readForecast(ws: Workspace, day: string): Promise<ForecastDoc | undefined> {
  const file = ws.path(PATHS.forecasts, `${day}.json`);
  if (!(await exists(file))) return undefined;
  return JSON.parse(await readText(file, 'forecast')) as ForecastDoc;
}

// `chatcast forecast`
export default defineCommand<StepArgs>({
  name: 'forecast',
  describe: "Forecast the next day's hours with the trained model into forecast/NEXT_DAY.json",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return forecast(ws, day, ctx);
  },
});

import { addDays, dayHours } from '../core/dates.js';
import { predictDay } from '../core/forecast.js';
import { valuesThrough } from '../core/series.js';
import { readModel, readSeries, writeForecast } from '../io/artifacts.js';
import { initTf } from '../io/tf.js';
import type { Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Forecasts every hour of D+1 (24, or 23/25 on clock-change days) into forecast/YYYY-MM/D+1.json.
export async function forecast(ws: Workspace, day: string, ctx: Context) {
  const { backend } = await initTf();
  const card = await readModel(ws, day);
  const { values } = valuesThrough(await readSeries(ws, day), day, ws.params.chat.timezone);
  const target = addDays(day, 1);
  const doc = predictDay(card, values, dayHours(target, ws.params.chat.timezone), day, target);
  const file = await writeForecast(ws, doc);
  const [lo, hi] = doc.total_range ?? [doc.total, doc.total];
  ctx.log.info(
    { step: 'forecast', day, for: target, backend, model: doc.model.name, total: doc.total, total_range: doc.total_range, peak: doc.peak, file },
    `forecast for ${target} by ${doc.model.name}: ${doc.total} messages expected (80%: ${lo}–${hi}), peak at ${doc.peak.local} (tfjs backend: ${backend})`,
  );
  return doc;
}

// `chatcast forecast`
export default defineCommand<StepArgs>({
  name: 'forecast',
  describe: "Forecast the next day's hours with the trained model into forecast/YYYY-MM/NEXT_DAY.json",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'forecast' });
    if (history) return history;
    return forecast(ws, day, ctx);
  },
});

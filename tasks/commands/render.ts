import { addDays, dayHours } from '../core/dates.js';
import { actualFigure, forecastFigure } from '../core/charts.js';
import { ChatcastError } from '../core/errors.js';
import { dayPath, PATHS } from '../core/pipeline.js';
import { dayRows } from '../core/series.js';
import { renderPngs, type ChartPage } from '../io/browser.js';
import { writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { readForecast, readSeries } from '../io/artifacts.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Where render puts the two charts of a day.
export function chartPaths(ws: Workspace, day: string) {
  return { actual: ws.path(dayPath(PATHS.charts, day), 'actual.png'), forecast: ws.path(dayPath(PATHS.charts, day), 'forecast.png') };
}

// Draws D's actual hours beside the forecast made for D, and the forecast for D+1, as PNGs; in the
// Chromium page `charts` when the caller opened one ahead (`chatcast run`), else in its own.
export async function render(ws: Workspace, day: string, ctx: Context, options: { charts?: Promise<ChartPage> } = {}) {
  const { title, timezone: zone } = ws.params.chat;
  const { width, height, language } = ws.params.render;
  const series = await readSeries(ws, day);
  const actual = dayRows(series, day);
  if (actual.length === 0 && dayHours(day, zone).length > 0) {
    throw new ChatcastError('STATE', `The hourly series has no hours for ${day}: run "chatcast aggregate --date ${day}" first`);
  }
  const next = await readForecast(ws, addDays(day, 1));
  if (!next) {
    throw new ChatcastError('STATE', `Missing forecast for ${addDays(day, 1)}: run "chatcast forecast --date ${day}" first`);
  }
  const figures = [
    actualFigure({ title, day, zone, language, actual, forecast: await readForecast(ws, day) }),
    forecastFigure({ title, zone, language, forecast: next }),
  ];
  const start = performance.now();
  const [actualPng, forecastPng] = options.charts ? await (await options.charts).draw(figures, { width, height }) : await renderPngs(figures, { width, height });
  const chromiumMs = Math.round(performance.now() - start);
  const paths = chartPaths(ws, day);
  await writeFiles([
    { path: paths.actual, data: actualPng },
    { path: paths.forecast, data: forecastPng },
  ]);
  ctx.log.info({ step: 'render', day, charts: paths, width, height, chromium_ms: chromiumMs }, `rendered ${day} charts`);
  return paths;
}

// `chatcast render`
export default defineCommand<StepArgs>({
  name: 'render',
  describe: "Draw the day's actual-vs-forecast chart and the next day's forecast chart (PNG)",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'render' });
    if (history) return history;
    return render(ws, day, ctx);
  },
});

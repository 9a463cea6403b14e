import { parsePartition } from '../core/messages.js';
import { PATHS } from '../core/pipeline.js';
import { emptySeries, formatSeries, hourlyCounts, parseSeries, upsertDay } from '../core/series.js';
import { exists, readText, writeFiles } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Replaces day D's hours in aggregate/hourly.tsv with the counts of ingest/D.jsonl.
export async function aggregate(ws: Workspace, day: string, ctx: Context) {
  const zone = ws.params.chat.timezone;
  const partition = ws.path(PATHS.ingest, `${day}.jsonl`);
  const messages = parsePartition(
    await readText(partition, 'ingest partition', `run "chatcast ingest --date ${day}" first`),
    partition,
  );
  const seriesFile = ws.path(PATHS.series);
  const series = (await exists(seriesFile))
    ? parseSeries(await readText(seriesFile, 'hourly series'), seriesFile)
    : emptySeries();
  const rows = hourlyCounts(messages, day, zone);
  const updated = upsertDay(series, rows, day);
  const written = await writeFiles([{ path: seriesFile, data: formatSeries(updated) }]);
  ctx.log.info(
    { step: 'aggregate', day, hours: rows.numRows(), messages: messages.length, seriesHours: updated.numRows(), changed: written.length > 0 },
    `aggregated ${day}: ${messages.length} messages over ${rows.numRows()} hours`,
  );
  return { hours: rows.numRows(), seriesHours: updated.numRows() };
}

// `chatcast aggregate`
export default defineCommand<StepArgs>({
  name: 'aggregate',
  describe: "Count one day's messages per hour of the chat's clock into aggregate/hourly.tsv",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return aggregate(ws, day, ctx);
  },
});

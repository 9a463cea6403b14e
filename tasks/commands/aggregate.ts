import { parsePartition } from '../core/messages.js';
import { PATHS } from '../core/pipeline.js';
import { hourlyCounts, upsertDays } from '../core/series.js';
import { readSeries, writeSeries } from '../io/artifacts.js';
import { readText } from '../io/files.js';
import type { Workspace } from '../io/workspace.js';
import { partitionDays, partitionPath } from './ingest.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Replaces day D's hours in aggregate/hourly/ (a file per month) with the counts of ingest/YYYY-MM/D.jsonl, and adds every
// earlier ingested day the series does not have yet (an export or a catch-up after downtime).
export async function aggregate(ws: Workspace, day: string, ctx: Context) {
  const zone = ws.params.chat.timezone;
  const series = await readSeries(ws, undefined);
  const known = new Set(series.array('day') as string[]);
  const days = (await partitionDays(ws)).filter((d) => d < day && !known.has(d));
  days.push(day);
  let messages = 0;
  const tables = [];
  for (const d of days) {
    const file = partitionPath(ws, d);
    const partition = parsePartition(await readText(file, 'ingest partition', `run "chatcast ingest --date ${d}" first`), file);
    messages += partition.length;
    tables.push(hourlyCounts(partition, d, zone));
  }
  const updated = upsertDays(series, tables, days);
  const written = await writeSeries(ws, updated);
  ctx.log.info(
    { step: 'aggregate', day, days: days.length, messages, seriesHours: updated.numRows(), changed: written.length > 0 },
    days.length === 1 ? `aggregated ${day}: ${messages} messages` : `aggregated ${days.length} days (${days[0]} … ${day}): ${messages} messages`,
  );
  return { days, seriesHours: updated.numRows() };
}

// `chatcast aggregate`
export default defineCommand<StepArgs>({
  name: 'aggregate',
  describe: "Count one day's messages per hour of the chat's clock into aggregate/hourly/ (a TSV per month)",
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'aggregate' });
    if (history) return history;
    return aggregate(ws, day, ctx);
  },
});

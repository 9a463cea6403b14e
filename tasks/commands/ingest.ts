import { formatPartition } from '../core/messages.js';
import { parseSource } from '../core/sources.js';
import { PATHS } from '../core/pipeline.js';
import { writeFiles } from '../io/files.js';
import { readDay } from '../io/sources.js';
import { resolveFrom, type Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Writes day D's messages as one partition file, ingest/D.jsonl; other days are never touched.
export async function ingest(ws: Workspace, day: string, ctx: Context, sourceArg?: string) {
  const source = parseSource(sourceArg ?? ws.params.ingest.source, sourceArg ? '--source' : 'params.yaml ingest.source');
  if (source.kind === 'tsv') source.file = resolveFrom(sourceArg ? process.cwd() : ws.dir, source.file);
  const messages = await readDay(source, day, ws.params);
  const file = ws.path(PATHS.ingest, `${day}.jsonl`);
  const written = await writeFiles([{ path: file, data: formatPartition(messages) }]);
  const kinds: Record<string, number> = {};
  for (const m of messages) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
  ctx.log.info({ step: 'ingest', day, source: source.kind, messages: messages.length, kinds, file, changed: written.length > 0 }, `ingested ${messages.length} messages for ${day}`);
  return { messages: messages.length, file };
}

// `chatcast ingest`
export default defineCommand<StepArgs & { source?: string }>({
  name: 'ingest',
  describe: "Fetch one day's messages into ingest/DAY.jsonl",
  args: {
    ...STEP_ARGS,
    source: { type: 'string', describe: 'simulate or tsv:FILE (default: params.yaml ingest.source)' },
  },
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    return ingest(ws, day, ctx, args.source);
  },
});

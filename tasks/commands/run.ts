import { openWorkspace } from '../io/workspace.js';
import { pullState, pushState } from '../io/versioning.js';
import { acquireLease, releaseLease } from '../io/lease.js';
import { ingest } from './ingest.js';
import { aggregate } from './aggregate.js';
import { evaluate } from './evaluate.js';
import { train } from './train.js';
import { forecast } from './forecast.js';
import { render } from './render.js';
import { keepLedger, readLedger, report } from './report.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';
import type { Workspace } from '../io/workspace.js';

// The daily pipeline in one process, in the DAG's order: pull → steps → push.
export async function runDay(ws: Workspace, day: string, ctx: Context, source?: string) {
  await acquireLease(ws.dir, day, ctx.now());
  const ledger = await readLedger(ws);
  await pullState(ws.dir, ctx.log);
  await keepLedger(ws, ledger);
  const fresh = await openWorkspace(ws.dir); // a pull may have brought a newer params.yaml
  await ingest(fresh, day, ctx, source);
  await aggregate(fresh, day, ctx);
  const evaluation = await evaluate(fresh, day, ctx);
  await train(fresh, day, ctx);
  const next = await forecast(fresh, day, ctx);
  const charts = await render(fresh, day, ctx);
  const outbox = await report(fresh, day, ctx);
  const pushed = await pushState(fresh.dir, day, ctx.log);
  await releaseLease(fresh.dir, day);
  return { evaluation, forecast: next, charts, outbox, pushed };
}

// `chatcast run`
export default defineCommand<StepArgs & { source?: string }>({
  name: 'run',
  describe: 'Run the whole daily pipeline for one day: pull, ingest … report, push',
  args: { ...STEP_ARGS, source: { type: 'string', describe: 'simulate or tsv:FILE (default: params.yaml ingest.source)' } },
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx);
    const result = await runDay(ws, day, ctx, args.source);
    return { day, commit: result.pushed.commit, changed: result.pushed.changed };
  },
});

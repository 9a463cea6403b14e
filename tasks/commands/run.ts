import { openWorkspace } from '../io/workspace.js';
import { pullState, pushState } from '../io/versioning.js';
import { acquireLease, releaseLease } from '../io/lease.js';
import { ingest } from './ingest.js';
import { aggregate } from './aggregate.js';
import { evaluate } from './evaluate.js';
import { train } from './train.js';
import { forecast } from './forecast.js';
import { render } from './render.js';
import { report } from './report.js';
import { track } from './track.js';
import { keepLedger, keepTrackLedger, readLedger, readTrackLedger } from '../io/artifacts.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';
import type { Workspace } from '../io/workspace.js';

// The daily pipeline in one process: pull → steps → push → track → report → push. A tracker that is
// down fails the run (exit 7) only after the day was pushed and reported.
export async function runDay(ws: Workspace, day: string, ctx: Context, source?: string) {
  await acquireLease(ws.dir, day, ctx.now());
  const ledger = await readLedger(ws);
  const tracked = await readTrackLedger(ws);
  await pullState(ws.dir, ctx.log);
  await keepLedger(ws, ledger);
  await keepTrackLedger(ws, tracked);
  const fresh = await openWorkspace(ws.dir); // a pull may have brought a newer params.yaml
  await ingest(fresh, day, ctx, source);
  await aggregate(fresh, day, ctx);
  const evaluation = await evaluate(fresh, day, ctx);
  await train(fresh, day, ctx);
  const next = await forecast(fresh, day, ctx);
  const charts = await render(fresh, day, ctx);
  const pushed = await pushState(fresh.dir, day, ctx.log);
  // Tracked before the report so the post links the day's run; a tracker that is down costs the post nothing.
  const tracking = await track(fresh, day, ctx, { lease: false, push: false }).catch((error: unknown) => ({ error }));
  const outbox = await report(fresh, day, ctx);
  const posted = await pushState(fresh.dir, day, ctx.log);
  await releaseLease(fresh.dir, day);
  if ('error' in tracking) throw tracking.error;
  return { evaluation, forecast: next, charts, outbox, pushed: posted, changed: pushed.changed || posted.commit !== pushed.commit, tracking };
}

// `chatcast run`
export default defineCommand<StepArgs & { source?: string }>({
  name: 'run',
  describe: 'Run the whole daily pipeline for one day: pull, ingest … report, push, track',
  args: { ...STEP_ARGS, source: { type: 'string', describe: 'simulate or tsv:FILE (default: params.yaml ingest.source)' } },
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'run' });
    if (history) return history;
    const result = await runDay(ws, day, ctx, args.source);
    return { day, commit: result.pushed.commit, changed: result.changed };
  },
});

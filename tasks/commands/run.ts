import { openWorkspace } from '../io/workspace.js';
import { pullState, pushState } from '../io/versioning.js';
import { acquireLease, releaseLease } from '../io/lease.js';
import { openChartPage } from '../io/browser.js';
import { keepLedger, keepTrackLedger, readLedger, readTrackLedger } from '../io/artifacts.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';
import type { Workspace } from '../io/workspace.js';

// The daily pipeline in one process: pull → steps → push → track → report → push. A tracker that is
// down fails the run (exit 7) only after the day was pushed and reported.
export async function runDay(ws: Workspace, day: string, ctx: Context, source?: string) {
  const ms: Record<string, number> = {};
  const time = async <T>(part: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      ms[part] = (ms[part] ?? 0) + Math.round(performance.now() - start);
    }
  };
  await acquireLease(ws.dir, day, ctx.now());
  // Chromium starts and loads plotly.js while DVC pulls and the model trains; render then only draws.
  // One that cannot start fails render, where it always failed.
  const charts = openChartPage();
  charts.catch(() => undefined);
  const closeCharts = () => charts.then((page) => page.close(), () => undefined);
  // The steps' modules load while DVC pulls, in this process while DVC works in its own.
  const modules = Promise.all([
    import('./ingest.js'),
    import('./aggregate.js'),
    import('./evaluate.js'),
    import('./train.js'),
    import('./forecast.js'),
    import('./render.js'),
    import('./report.js'),
    import('./track.js'),
  ]);
  modules.catch(() => undefined);
  try {
    const ledger = await readLedger(ws);
    const tracked = await readTrackLedger(ws);
    await time('pull', () => pullState(ws.dir, ctx.log));
    await keepLedger(ws, ledger);
    await keepTrackLedger(ws, tracked);
    const fresh = await openWorkspace(ws.dir); // a pull may have brought a newer params.yaml
    const [{ ingest }, { aggregate }, { evaluate }, { train }, { forecast }, { render }, { report }, { track }] = await modules;
    await time('ingest', () => ingest(fresh, day, ctx, source));
    await time('aggregate', () => aggregate(fresh, day, ctx));
    const evaluation = await time('evaluate', () => evaluate(fresh, day, ctx));
    await time('train', () => train(fresh, day, ctx));
    const next = await time('forecast', () => forecast(fresh, day, ctx));
    const paths = await time('render', () => render(fresh, day, ctx, { charts }));
    await closeCharts();
    const pushed = await time('push', () => pushState(fresh.dir, day, ctx.log));
    // Tracked before the report so the post links the day's run; a tracker that is down costs the post nothing.
    const tracking = await time('track', () => track(fresh, day, ctx, { lease: false, push: false }).catch((error: unknown) => ({ error })));
    const outbox = await time('report', () => report(fresh, day, ctx));
    const posted = await time('push', () => pushState(fresh.dir, day, ctx.log));
    await releaseLease(fresh.dir, day);
    ctx.log.debug({ step: 'run', day, ms }, `ran ${day}`);
    if ('error' in tracking) throw tracking.error;
    return { evaluation, forecast: next, charts: paths, outbox, pushed: posted, changed: pushed.changed || posted.commit !== pushed.commit, tracking };
  } finally {
    await closeCharts();
  }
}

// `chatcast run`
export default defineCommand<StepArgs & { source?: string }>({
  name: 'run',
  describe: 'Run the whole daily pipeline for one day: pull, ingest … report, push, track',
  args: { ...STEP_ARGS, source: { type: 'string', describe: 'simulate or tsv:FILE (default: params.yaml ingest.source)' } },
  async run(args, ctx) {
    // Milliseconds since the process started: node and the modules this run needs.
    ctx.log.debug({ step: 'run', startup_ms: Math.round(performance.now()) }, 'chatcast run started');
    const { ws, day, history } = await openStep(args, ctx, { step: 'run' });
    if (history) return history;
    const result = await runDay(ws, day, ctx, args.source);
    return { day, commit: result.pushed.commit, changed: result.changed };
  },
});

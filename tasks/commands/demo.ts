import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { addDays, daysFrom, lastEndedDay, parseZone } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { dayPath, PATHS } from '../core/pipeline.js';
import { initWorkspace } from '../io/workspace.js';
import { pushState } from '../io/versioning.js';
import { progressBar } from '../io/progress.js';
import { ingest } from './ingest.js';
import { aggregate } from './aggregate.js';
import { runDay } from './run.js';
import { defineCommand, type Context } from './command.js';

// Options of `chatcast demo`.
export interface DemoArgs {
  workspace?: string;
  days: number;
  runs: number;
  timezone: string;
}

// A whole chatcast week on a simulated chat, in a fresh workspace: history first, then daily runs.
export async function demo(args: DemoArgs, ctx: Context) {
  const zone = parseZone(args.timezone, '--timezone');
  if (!Number.isInteger(args.days) || !Number.isInteger(args.runs) || args.runs < 1 || args.days < args.runs + 1 || args.days > 3660) {
    throw new ChatcastError('USAGE', `Invalid --days ${args.days} / --runs ${args.runs}: expected whole numbers with 1 ≤ runs < days ≤ 3660`);
  }
  const root = args.workspace ? resolve(args.workspace) : join(await mkdtemp(join(tmpdir(), 'chatcast-demo-')), 'workspace');
  const { workspace: ws, remote } = await initWorkspace(root, { timezone: zone, source: 'simulate' });
  const last = lastEndedDay(zone, ctx.now());
  const first = addDays(last, -(args.days - 1));
  const history = daysFrom(first, addDays(last, -args.runs));
  const quiet = ctx.interactive ? ctx.log.child({}, { level: 'warn' }) : ctx.log;
  const stepCtx = { ...ctx, log: quiet };

  ctx.log.info({ step: 'demo', workspace: root, first, last }, `simulating ${history.length} days of history (${first} … ${history.at(-1)})`);
  const bar = progressBar('history', history.length, ctx.interactive);
  for (const day of history) {
    await ingest(ws, day, stepCtx, 'simulate');
    await aggregate(ws, day, stepCtx);
    bar.tick(day);
  }
  bar.stop();
  await pushState(ws.dir, history.at(-1)!, quiet);

  const daily = daysFrom(addDays(last, -(args.runs - 1)), last);
  ctx.log.info({ step: 'demo', days: daily }, `running the daily pipeline for ${daily[0]} … ${last}`);
  const runsBar = progressBar('daily runs', daily.length, ctx.interactive);
  const scores: { day: string; smape: number | null; mae: number | null; rmse: number | null }[] = [];
  for (const day of daily) {
    const result = await runDay(ws, day, stepCtx);
    scores.push({ day, smape: result.evaluation.smape, mae: result.evaluation.mae, rmse: result.evaluation.rmse });
    runsBar.tick(day);
  }
  runsBar.stop();

  const summary = {
    workspace: root,
    remote,
    charts: ws.path(dayPath(PATHS.charts, last)),
    metrics: ws.path(PATHS.metrics),
    history: ws.path(PATHS.history),
    outbox: ws.path(dayPath(PATHS.outbox, last)),
    tracked: ws.path(PATHS.trackPage),
    scores,
  };
  // On a terminal the plain summary below says it; a pipe gets it as one JSON line.
  if (!ctx.interactive) ctx.log.info({ step: 'demo', ...summary }, 'demo finished');
  process.stderr.write(
    [
      '',
      `Demo workspace: ${summary.workspace}  (DVC remote: ${remote})`,
      `Charts of ${last}: ${summary.charts}/actual.png, forecast.png`,
      `Metrics: ${summary.metrics} (history: ${summary.history})`,
      `Channel message: ${summary.outbox}/caption.txt`,
      `Tracked history: ${summary.tracked} (opens offline; or: cd ${summary.workspace} && dvc plots show)`,
      `Versions: git -C ${summary.workspace} tag  →  git checkout DAY && dvc checkout`,
      '',
    ].join('\n'),
  );
  return summary;
}

// `chatcast demo`
export default defineCommand<DemoArgs>({
  name: 'demo',
  describe: 'Simulate a chat in a fresh workspace and run the daily pipeline for its last days',
  args: {
    workspace: { type: 'string', describe: 'Folder for the demo workspace (default: a new folder under the system temp dir)' },
    days: { type: 'number', default: 120, describe: 'Days of simulated history, ending yesterday' },
    runs: { type: 'number', default: 7, describe: 'Last days processed by the full daily pipeline, one at a time' },
    timezone: { type: 'string', default: 'Europe/Berlin', describe: "The simulated chat's IANA time zone" },
  },
  run: (args, ctx) => demo(args, ctx),
});

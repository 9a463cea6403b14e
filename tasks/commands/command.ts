import type { Logger } from 'pino';
import { assertDayEnded, parseDay } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { openWorkspace, resolveWorkspaceDir, type Workspace } from '../io/workspace.js';
import { adoptLease } from '../io/lease.js';
import { pushedDays } from '../io/versioning.js';
import { removeTempFiles } from '../io/files.js';
import { migrateLayout } from '../io/layout.js';

// How far after the last pushed day a step goes without --catch-up: a longer gap is more likely a typo in
// --date (2062 for 2026) than downtime, and a catch-up that long is worth asking for.
export const MAX_GAP_DAYS = 31;

// What every command gets besides its arguments: the logger and the clock (tests move the clock).
export interface Context {
  log: Logger;
  now: () => number;
  interactive: boolean; // a terminal is attached: progress bars are welcome
}

// One flag of a command, declared as data; tasks/cli.ts turns these into yargs options.
export interface ArgSpec {
  type: 'string' | 'boolean' | 'number';
  describe: string;
  demandOption?: boolean;
  array?: boolean;
  default?: string | boolean | number;
}

// A CLI command as data: name, help text, flags, and the function that runs it.
export interface CommandDef<A = Record<string, unknown>> {
  name: string;
  describe: string;
  args: Record<string, ArgSpec>;
  run: (args: A, ctx: Context) => Promise<unknown>;
}

// Lets each command file declare its flags once and keep their types.
export function defineCommand<A>(def: CommandDef<A>): CommandDef<A> {
  return def;
}

// The flags every daily step takes.
export const STEP_ARGS = {
  date: {
    type: 'string',
    demandOption: true,
    describe: "The day that ended, YYYY-MM-DD, in the chat's time zone",
  },
  workspace: {
    type: 'string',
    describe: 'Workspace folder (default: $CHATCAST_WORKSPACE, else the current folder)',
  },
  'catch-up': {
    type: 'boolean',
    describe: `Process a day more than ${MAX_GAP_DAYS} days after the last pushed one (the days between are filled in)`,
  },
} satisfies Record<string, ArgSpec>;

// Parsed common flags of a daily step.
export interface StepArgs {
  date: string;
  workspace?: string;
  catchUp?: boolean;
}

// An opened step: the workspace and the day, and why the step has nothing to do when the day is history.
export interface OpenedStep {
  ws: Workspace;
  day: string;
  history?: { last: string; message: string };
}

// What a step says and does for a day before the newest pushed one: nothing, and where that day is.
export async function leaveHistory(dir: string, day: string, step: string, ctx: Context): Promise<{ last: string; message: string }> {
  const days = await pushedDays(dir);
  const last = days.at(-1)!;
  const own = days.includes(day) ? `git checkout ${day} && dvc checkout shows that day` : `it has no tag of its own: its data was pushed with a later day`;
  const message = `${day} is history: this workspace has pushed ${last} since, so "${step}" leaves it as pushed (${own}) and changes nothing`;
  ctx.log.info({ step, day, last }, message);
  return { last, message };
}

// Opens the workspace and checks the day: bad input stops here, before any step writes. A day before the
// newest pushed one is history: the step does nothing unless it serves history (`track`).
export async function openStep(args: StepArgs, ctx: Context, options: { step?: string; history?: 'skip' | 'serve' } = {}): Promise<OpenedStep> {
  const day = parseDay(args.date);
  const ws = await openWorkspace(resolveWorkspaceDir(args.workspace));
  const scheduled = process.env.CHATCAST_TIMEZONE;
  if (scheduled && scheduled !== ws.params.chat.timezone) {
    // The scheduler cut the day in its zone; counting it in another would shift every hour.
    throw new ChatcastError(
      'CONFIG',
      `Invalid params.yaml chat.timezone "${ws.params.chat.timezone}": expected "${scheduled}", the time zone the scheduler uses for this chat ($CHATCAST_TIMEZONE)`,
    );
  }
  assertDayEnded(day, ws.params.chat.timezone, ctx.now());
  const last = (await pushedDays(ws.dir)).at(-1);
  if (last !== undefined && day < last && options.history !== 'serve') {
    // An Airflow "Clear" of an older run: rebuilding that day here would overwrite the newest state
    // with an older one and move its tag onto later days. Its pushed version stays as it is.
    return { ws, day, history: await leaveHistory(ws.dir, day, options.step ?? 'this step', ctx) };
  }
  const gap = last === undefined ? 0 : (Date.parse(day) - Date.parse(last)) / 86_400_000;
  if (gap > MAX_GAP_DAYS && !args.catchUp) {
    throw new ChatcastError(
      'USAGE',
      `Invalid --date "${day}": the last day pushed from this workspace is ${last}, ${gap} days earlier; expected at most ${MAX_GAP_DAYS} days after it, or pass --catch-up to fill the ${gap - 1} days between in this run`,
    );
  }
  await adoptLease(ws.dir, day, ctx.now());
  // A step starts by removing what an interrupted write left (runs of a workspace never overlap: the lease).
  const removed = await removeTempFiles(ws.dir);
  if (removed.length > 0) ctx.log.warn({ removed: removed.length, first: removed[0] }, `removed ${removed.length} half-written file(s) an interrupted run left, e.g. ${removed[0]}`);
  await migrateLayout(ws.dir, ctx.log);
  return { ws, day };
}

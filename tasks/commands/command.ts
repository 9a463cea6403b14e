import type { Logger } from 'pino';
import { assertDayEnded, parseDay } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { openWorkspace, resolveWorkspaceDir, type Workspace } from '../io/workspace.js';
import { checkLease } from '../io/lease.js';
import { removeTempFiles } from '../io/files.js';

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
} satisfies Record<string, ArgSpec>;

// Parsed common flags of a daily step.
export interface StepArgs {
  date: string;
  workspace?: string;
}

// Opens the workspace and checks the day: bad input stops here, before any step writes.
export async function openStep(args: StepArgs, ctx: Context): Promise<{ ws: Workspace; day: string }> {
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
  await checkLease(ws.dir, day, ctx.now());
  // A step starts by removing what an interrupted write left (runs of a workspace never overlap: the lease).
  const removed = await removeTempFiles(ws.dir);
  if (removed.length > 0) ctx.log.warn({ removed: removed.length, first: removed[0] }, `removed ${removed.length} half-written file(s) an interrupted run left, e.g. ${removed[0]}`);
  return { ws, day };
}

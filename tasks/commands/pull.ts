import { parseDay } from '../core/dates.js';
import { openWorkspace, resolveWorkspaceDir } from '../io/workspace.js';
import { pullState, pushedDays } from '../io/versioning.js';
import { acquireLease } from '../io/lease.js';
import { keepLedger, keepTrackLedger, readLedger, readTrackLedger } from '../io/artifacts.js';
import { defineCommand, leaveHistory, STEP_ARGS } from './command.js';

// `chatcast pull`
export default defineCommand<{ workspace?: string; date?: string }>({
  name: 'pull',
  describe: "Restore the workspace's DVC-tracked state from the remote (the DAG's first task)",
  args: { workspace: STEP_ARGS.workspace, date: { ...STEP_ARGS.date, demandOption: false, describe: 'The day this run processes: pull takes the workspace for it until push (other days wait)' } },
  async run(args, ctx) {
    const day = args.date === undefined ? undefined : parseDay(args.date);
    const ws = await openWorkspace(resolveWorkspaceDir(args.workspace));
    const last = (await pushedDays(ws.dir)).at(-1);
    if (day && last && day < last) {
      // A rerun of an older day (see openStep): restoring the newest state under a live run would undo it.
      return { pulled: false, history: await leaveHistory(ws.dir, day, 'pull', ctx) };
    }
    if (day) await acquireLease(ws.dir, day, ctx.now());
    const ledger = await readLedger(ws);
    const tracked = await readTrackLedger(ws);
    const pulled = await pullState(ws.dir, ctx.log);
    await keepLedger(ws, ledger);
    await keepTrackLedger(ws, tracked);
    return pulled;
  },
});

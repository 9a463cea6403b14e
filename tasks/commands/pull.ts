import { openWorkspace, resolveWorkspaceDir } from '../io/workspace.js';
import { pullState } from '../io/versioning.js';
import { defineCommand, STEP_ARGS } from './command.js';

// `chatcast pull`
export default defineCommand<{ workspace?: string; date?: string }>({
  name: 'pull',
  describe: "Restore the workspace's DVC-tracked state from the remote (the DAG's first task)",
  args: { workspace: STEP_ARGS.workspace, date: { ...STEP_ARGS.date, demandOption: false, describe: 'Accepted for symmetry with the steps; pull always restores the latest pushed state' } },
  async run(args, ctx) {
    const ws = await openWorkspace(resolveWorkspaceDir(args.workspace));
    return pullState(ws.dir, ctx.log);
  },
});

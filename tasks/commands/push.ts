import { pushState } from '../io/versioning.js';
import { releaseLease } from '../io/lease.js';
import { defineCommand, openStep, STEP_ARGS, type StepArgs } from './command.js';

// `chatcast push`
export default defineCommand<StepArgs>({
  name: 'push',
  describe: 'Commit the artifacts with DVC, tag the git commit with the day, push to the remote (the DAG\'s last task)',
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'push' });
    if (history) return history;
    const pushed = await pushState(ws.dir, day, ctx.log);
    await releaseLease(ws.dir, day);
    return pushed;
  },
});

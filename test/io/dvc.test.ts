import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reason } from '../../tasks/io/dvc.js';
import { chatcast, tempDir } from '../helpers.js';

// When DVC or git fails, the message quotes the tool's own error line, not its footer or nothing.
describe('DVC and git failures', () => {
  it("keep the tool's error lines and drop DVC's support footer", () => {
    const dvc = "ERROR: unexpected error - [Errno 20] Not a directory: '/r/files'\n\nHaving any troubles? Hit us up at https://dvc.org/support, we are always happy to help!\n";
    expect(reason(dvc)).toBe("ERROR: unexpected error - [Errno 20] Not a directory: '/r/files'");
    const git = "fatal: Unable to create '/w/.git/index.lock': File exists.\n\nAnother git process seems to be running in this repository, e.g.\nan editor opened by 'git commit'.";
    expect(reason(git)).toBe("fatal: Unable to create '/w/.git/index.lock': File exists. Another git process seems to be running in this repository, e.g.");
    expect(reason('\n\n')).toBe('no output');
  });

  it('push names the git and DVC failures it met, and clears a git lock a killed run left', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await chatcast(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    // git's own reason is quoted (here a hook that refuses the commit).
    const hook = join(ws, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, '#!/bin/sh\necho "fatal: this repository takes no commits today" >&2\nexit 1\n', { mode: 0o755 });
    const refused = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws]);
    expect(refused.exitCode).toBe(7);
    expect(refused.stderr).toContain('fatal: this repository takes no commits today');
    await (await import('node:fs/promises')).rm(hook);
    // A lock a killed git left is removed under the workspace's lease, and says so.
    await writeFile(join(ws, '.git', 'index.lock'), '');
    const locked = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws]);
    expect(locked.exitCode, locked.stderr).toBe(0);
    expect(locked.stdout).toContain('removed .git/index.lock that an interrupted git command left');
    await writeFile(join(root, 'a-file'), '');
    const remote = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_DVC_REMOTE: join(root, 'a-file', 'remote') });
    expect(remote.exitCode).toBe(7);
    expect(remote.stderr).toMatch(/dvc push failed .*ERROR: .*Not a directory: '.*a-file\/remote/);
    expect(remote.stderr).not.toContain('Having any troubles');
    // The cause gone (the deployment's remote pointed back at a usable folder), the rerun succeeds.
    const fixed = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_DVC_REMOTE: join(root, 'ws-dvc-remote') });
    expect(fixed.exitCode, fixed.stderr).toBe(0);
  });
});

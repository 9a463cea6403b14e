import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { openWorkspace } from '../../tasks/io/workspace.js';
import { pullState, pushState } from '../../tasks/io/versioning.js';
import { ingest } from '../../tasks/commands/ingest.js';
import { chatcast, quietContext, tempDir } from '../helpers.js';

const log = pino({ level: 'silent' });

describe('pull and push', () => {
  it('push commits only the stages that have run, tags the day, and sends the data to $CHATCAST_DVC_REMOTE when set', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--remote', join(root, 'configured')])).exitCode).toBe(0);
    expect((await pullState(ws, log)).pulled).toBe(false); // nothing pushed yet: a no-op, not an error
    await ingest(await openWorkspace(ws), '2024-03-01', quietContext());
    await mkdir(join(root, 'from-env')); // chatcast never makes a remote folder outside init
    process.env.CHATCAST_DVC_REMOTE = join(root, 'from-env');
    try {
      const pushed = await pushState(ws, '2024-03-01', log);
      expect(pushed.stages).toEqual(['ingest']);
      expect(pushed.changed).toBe(true);
      expect(await readdir(join(root, 'from-env'))).toContain('files');
      expect(await readdir(join(root, 'configured'))).toEqual([]);
      expect((await pullState(ws, log)).pulled).toBe(true);
    } finally {
      delete process.env.CHATCAST_DVC_REMOTE;
    }
  });
});

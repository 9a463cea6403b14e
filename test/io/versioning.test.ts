import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { existsSync } from 'node:fs';
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

describe('after a killed DVC command', () => {
  // DVC rewrites .dvc/tmp/rwlock in place; a kill mid-write leaves it cut, and DVC then refuses to run.
  it('an unreadable .dvc/tmp/rwlock is removed by the next pull and push, which then succeed', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--remote', join(root, 'remote')])).exitCode).toBe(0);
    await ingest(await openWorkspace(ws), '2024-03-01', quietContext());
    await pushState(ws, '2024-03-01', log);
    const rwlock = join(ws, '.dvc', 'tmp', 'rwlock');
    await writeFile(rwlock, '{"read": {"/ws/ingest": [{"pid": 4');
    // The premise: DVC itself does not recover from it.
    const status = await execa(dvcBinary(), ['status'], { cwd: ws, reject: false });
    expect(status.exitCode).not.toBe(0);
    expect((await pullState(ws, log)).pulled).toBe(true);
    await writeFile(rwlock, '');
    expect((await pushState(ws, '2024-03-01', log)).changed).toBe(false);
    expect(existsSync(rwlock) ? JSON.parse(await readFile(rwlock, 'utf8')) : {}).toBeTypeOf('object');
  });
});

describe('after a push killed between its commit and its tag', () => {
  it('the rerun tags the day’s commit', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--remote', join(root, 'remote')])).exitCode).toBe(0);
    await ingest(await openWorkspace(ws), '2024-03-01', quietContext());
    await pushState(ws, '2024-03-01', log);
    const git = (...args: string[]) => execa('git', args, { cwd: ws }).then((r) => r.stdout.trim());
    // What the killed push had done: the day's new data committed under the day's message, no tag moved.
    await writeFile(join(ws, 'params.yaml'), `${await readFile(join(ws, 'params.yaml'), 'utf8')}\n`);
    await git('commit', '--quiet', '-am', 'chatcast 2024-03-01');
    const head = await git('rev-parse', 'HEAD');
    expect(await git('rev-parse', '2024-03-01^{commit}')).not.toBe(head);
    expect((await pushState(ws, '2024-03-01', log)).commit).toBe(head);
    expect(await git('rev-parse', '2024-03-01^{commit}')).toBe(head);
  });
});

// The DVC subcommands (first argument) started while `work` runs, through a wrapper that logs each.
async function dvcCallsOf(root: string, work: () => Promise<unknown>): Promise<string[]> {
  const calls = join(root, 'dvc-calls.log');
  const logged = join(root, 'dvc-logged');
  await writeFile(logged, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${calls}'\nexec '${dvcBinary()}' "$@"\n`, { mode: 0o755 });
  await rm(calls, { force: true });
  process.env.CHATCAST_DVC = logged;
  try {
    await work();
  } finally {
    delete process.env.CHATCAST_DVC;
  }
  return existsSync(calls) ? (await readFile(calls, 'utf8')).trim().split('\n') : [];
}

describe('the remote check of pull and push', () => {
  it('reads a plain DVC config without DVC, and writes $CHATCAST_DVC_REMOTE once', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--remote', join(root, 'configured')])).exitCode).toBe(0);
    expect(await dvcCallsOf(root, () => pullState(ws, log))).toEqual([]);
    await ingest(await openWorkspace(ws), '2024-03-01', quietContext());
    await mkdir(join(root, 'from-env'));
    process.env.CHATCAST_DVC_REMOTE = join(root, 'from-env');
    try {
      const calls = await dvcCallsOf(root, async () => {
        await pushState(ws, '2024-03-01', log);
        await pullState(ws, log);
        await pushState(ws, '2024-03-01', log);
      });
      expect(calls).toEqual(['remote', 'commit', 'push', 'pull', 'commit', 'push']);
      expect(await readdir(join(root, 'from-env'))).toContain('files');
      expect(await readdir(join(root, 'configured'))).toEqual([]);
      // The folder gone: the same error as ever, worded from DVC's own view of the config.
      await rm(join(root, 'from-env'), { recursive: true });
      let error: unknown;
      expect(await dvcCallsOf(root, async () => (error = await pushState(ws, '2024-03-01', log).catch((e: unknown) => e)))).toEqual(['config']);
      expect(error).toMatchObject({ name: 'ChatcastError', code: 'EXTERNAL', exitCode: 7 });
      expect((error as Error).message).toContain(`The DVC remote folder "${join(root, 'from-env')}" (remote "environment" of "${ws}") does not exist`);
      expect(existsSync(join(root, 'from-env'))).toBe(false);
    } finally {
      delete process.env.CHATCAST_DVC_REMOTE;
    }
  });

  it('takes a relative folder from .dvc as DVC does, and leaves a config it does not read for sure to DVC', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws, '--remote', join(root, 'configured')])).exitCode).toBe(0);
    const local = join(ws, '.dvc', 'config.local');
    await writeFile(local, '[remote "storage"]\n    url = ../../moved\n');
    const error = await pullState(ws, log).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`The DVC remote folder "${join(root, 'moved')}" (remote "storage" of "${ws}") does not exist`);
    await mkdir(join(root, 'moved'));
    expect(await dvcCallsOf(root, () => pullState(ws, log))).toEqual([]);
    // A quoted value: DVC itself reads the config, with the same outcome.
    await writeFile(local, `['remote "storage"']\n    url = "${join(root, 'quoted')}"\n`);
    const quoted = await pullState(ws, log).catch((e: unknown) => e);
    expect((quoted as Error).message).toContain(`The DVC remote folder "${join(root, 'quoted')}" (remote "storage" of "${ws}") does not exist`);
    await mkdir(join(root, 'quoted'));
    expect(await dvcCallsOf(root, () => pullState(ws, log))).toEqual(['config']);
  });
});

import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { addDefaultRemote, assertRemoteReachable, defaultRemoteOf } from '../../tasks/io/remote.js';
import { chatcast, snapshot, tempDir } from '../helpers.js';

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd }).then((r) => r.stdout.trim());

// DVC is slow on a busy machine (a CLI call runs it several times): generous timeouts.
describe('the DVC remote of a workspace', () => {
  it('a Cyrillic, spaced workspace name gets its default remote beside it, and push and pull go through it', async () => {
    const root = await tempDir();
    const ws = join(root, 'Мой чат');
    const remote = join(root, 'Мой чат-dvc-remote');
    const init = await chatcast(['init', '--workspace', ws]);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(await readFile(join(ws, '.dvc', 'config'), 'utf8')).toContain(`url = ${remote}\n`);
    expect(await defaultRemoteOf(ws)).toEqual({ name: 'storage', url: remote });
    expect(await readdir(remote)).toEqual([]);
    expect(await git(ws, 'status', '--porcelain')).toBe('');

    expect((await chatcast(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    const push = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(await readdir(remote)).toContain('files');
    const before = await snapshot(ws);
    await rm(join(ws, '.dvc', 'cache'), { recursive: true, force: true });
    await rm(join(ws, 'ingest', '2024-03'), { recursive: true, force: true }); // the month's DVC output (its .gitignore is git's)
    const pull = await chatcast(['pull', '--workspace', ws]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(await snapshot(ws)).toEqual(before);

    // The same for a deployment's remote in .dvc/config.local ($CHATCAST_DVC_REMOTE), relative and all.
    await addDefaultRemote(ws, 'environment', '../Другой remote', { local: true });
    expect(await readFile(join(ws, '.dvc', 'config.local'), 'utf8')).toContain(`url = ${join(root, 'Другой remote')}\n`);
    expect(await defaultRemoteOf(ws)).toEqual({ name: 'environment', url: join(root, 'Другой remote') });
    expect(await readFile(join(ws, '.dvc', 'config'), 'utf8')).toContain(`url = ${remote}\n`); // untouched
  }, 300_000);

  it('a failed init leaves neither the workspace nor its remote folder behind', async () => {
    const root = await tempDir();
    // A DVC that answers --version and then fails, as a broken install would.
    const fake = join(root, 'dvc');
    await writeFile(fake, '#!/bin/sh\n[ "$1" = --version ] && { echo 3.67.1; exit 0; }\necho "ERROR: simulated failure" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    const init = await chatcast(['init', '--workspace', join(root, 'Мой чат')], { CHATCAST_DVC: fake });
    expect(init.exitCode).toBe(7);
    expect(init.stderr).toContain('simulated failure');
    expect((await readdir(root)).sort()).toEqual(['dvc']);
  }, 300_000);

  it('assertRemoteReachable fails on a local remote folder that vanished, with its path and what to do (exit 7)', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    const remote = join(root, 'disk', 'remote');
    expect((await chatcast(['init', '--workspace', ws, '--remote', remote])).exitCode).toBe(0);
    await assertRemoteReachable(ws);
    await rm(join(root, 'disk'), { recursive: true }); // the disk was unmounted
    const error = await assertRemoteReachable(ws).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ChatcastError', code: 'EXTERNAL', exitCode: 7 });
    expect((error as Error).message).toContain(`The DVC remote folder "${remote}" (remote "storage" of "${ws}") does not exist`);
    expect((error as Error).message).toContain('mount the disk or restore the folder and retry');
    expect((error as Error).message).toContain(`mkdir -p "${remote}"`);
    expect(existsSync(join(root, 'disk'))).toBe(false);
    // Something that is there but no folder is DVC's to report (it names the path itself).
    await writeFile(join(root, 'disk'), '');
    await assertRemoteReachable(ws);
  }, 300_000);

  it('pull and push refuse a local remote folder that vanished (exit 7) and never make it anew', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    const remote = join(root, 'disk', 'remote');
    expect((await chatcast(['init', '--workspace', ws, '--remote', remote])).exitCode).toBe(0);
    expect((await chatcast(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    expect((await chatcast(['push', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    await rm(join(root, 'disk'), { recursive: true }); // the disk was unmounted

    for (const args of [['push', '--date', '2024-03-01'], ['pull']]) {
      const result = await chatcast([...args, '--workspace', ws]);
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(7);
      expect(result.stderr).toContain(`The DVC remote folder "${remote}"`);
      expect(existsSync(join(root, 'disk')), args[0]).toBe(false);
    }
    // A deployment's remote ($CHATCAST_DVC_REMOTE, a Cyrillic name here) is held to the same rule.
    const elsewhere = join(root, 'не смонтирован');
    const viaEnv = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_DVC_REMOTE: elsewhere });
    expect(viaEnv.exitCode).toBe(7);
    expect(viaEnv.stderr).toContain(`The DVC remote folder "${elsewhere}" (remote "environment"`);
    expect(existsSync(elsewhere)).toBe(false);
    await rm(join(ws, '.dvc', 'config.local'));

    // The folder made again by hand (the data lost): push uploads what the workspace holds, pull works.
    await mkdir(remote, { recursive: true });
    const again = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await readdir(remote)).toContain('files');
    expect((await chatcast(['pull', '--workspace', ws])).exitCode).toBe(0);
  }, 600_000);
});

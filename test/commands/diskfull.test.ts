import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import YAML from 'yaml';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatcast, ROOT, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';

const DVC = join(ROOT, '.venv', 'bin', 'dvc');

// A full disk during `push`, for the workspace and for the DVC remote, each on a small tmpfs: the push
// fails with a clear, retryable error, and once space is back the rerun of the day succeeds and leaves
// exactly what an uninterrupted twin has. Mounting needs root (CI runs as root).
const canMount = process.getuid?.() === 0;
if (!canMount) console.warn('test/commands/diskfull.test.ts: skipped: mounting a tmpfs needs root (CI runs as root)');

const DAY = '2024-03-28';
const STAGES = ['ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render'];
let root: string;
const mounts: string[] = [];

async function tmpfs(path: string, size: string) {
  await mkdir(path, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  mounts.push(path);
}

// Fills a file system to the last byte; returns the filler to delete.
async function fill(dir: string): Promise<string> {
  const filler = join(dir, 'filler.bin');
  const handle = await open(filler, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        await handle.write(chunk, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  return filler;
}

// The day's artifacts and their dvc.lock entries: what must equal the twin's, byte for byte (the
// report and the tracker's ledger hold the time they were made, so they are left out).
async function artifacts(ws: string) {
  const all = await snapshot(ws);
  const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8')) as { stages: Record<string, unknown> };
  delete lock.stages.report;
  delete lock.stages.track;
  return {
    ...Object.fromEntries(Object.entries(all).filter(([path]) => STAGES.some((s) => path.startsWith(`${s}/`)))),
    'dvc.lock': lock,
  };
}

async function dayUpTo(ws: string, last: string) {
  for (const step of ['pull', 'ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', last]) {
    const result = await chatcast([step, '--date', DAY, '--workspace', ws]);
    if (step !== last) expect(result.exitCode, `${step}: ${result.stderr}`).toBe(0);
    else return result;
  }
  throw new Error('unreachable');
}

let twin: Record<string, string>;

beforeAll(async () => {
  if (!canMount) return;
  root = await tempDir();
  const ws = await workspaceWithHistory(root, 'twin', '2024-03-20', '2024-03-27');
  const run = await chatcast(['run', '--date', DAY, '--workspace', ws]);
  expect(run.exitCode, run.stderr).toBe(0);
  twin = await artifacts(ws);
}, 180_000);

afterAll(async () => {
  for (const path of mounts.reverse()) await execa('umount', ['-l', path]).catch(() => undefined);
});

describe.skipIf(!canMount)('a full disk during push', () => {
  it('of the workspace: push fails clearly; once space is back the rerun of the day succeeds, nothing lost', async () => {
    const disk = join(root, 'ws-disk');
    await tmpfs(disk, '48m');
    const ws = await workspaceWithHistory(disk, 'ws', '2024-03-20', '2024-03-27');
    await dayUpTo(ws, 'render');
    const filler = await fill(disk);
    const push = await chatcast(['push', '--date', DAY, '--workspace', ws]);
    expect(push.exitCode, push.stderr).toBe(7);
    expect(push.stderr).toMatch(/No space left on device|ENOSPC/);
    expect(push.stderr).not.toMatch(/\n\s+at /);
    await rm(filler);
    // The rerun of the whole day.
    const rerun = await chatcast(['run', '--date', DAY, '--workspace', ws]);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(await artifacts(ws)).toEqual(twin);
    expect((await execa('git', ['status', '--porcelain'], { cwd: ws })).stdout).toBe('');
    expect((await execa(DVC, ['status', '--cloud'], { cwd: ws })).stdout).toMatch(/Cache and remote '.*' are in sync/);
    expect((await execa('git', ['tag', '--list', DAY], { cwd: ws })).stdout).toBe(DAY);
    expect((await readdir(ws, { recursive: true })).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 300_000);

  it('of the remote: push fails clearly; once space is back the rerun pushes everything', async () => {
    const disk = join(root, 'remote-disk');
    const ws = await workspaceWithHistory(root, 'ws2', '2024-03-20', '2024-03-27');
    // Move the remote onto a small disk that the history fits on.
    await tmpfs(disk, '24m');
    await execa('cp', ['-a', join(root, 'ws2-remote', '.'), disk]);
    await execa(DVC, ['remote', 'modify', '--local', 'storage', 'url', disk], { cwd: ws });
    await dayUpTo(ws, 'render');
    const filler = await fill(disk);
    const push = await chatcast(['push', '--date', DAY, '--workspace', ws]);
    expect(push.exitCode, push.stderr).toBe(7);
    expect(push.stderr).toMatch(/No space left on device|ENOSPC|no space/i);
    await rm(filler);
    const rerun = await chatcast(['run', '--date', DAY, '--workspace', ws]);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(await artifacts(ws)).toEqual(twin);
    const status = await execa(DVC, ['status', '--cloud'], { cwd: ws });
    expect(status.stdout).toMatch(/Cache and remote '.*' are in sync/);
  }, 300_000);
});

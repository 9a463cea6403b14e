import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { pino } from 'pino';
import type { Context } from '../tasks/commands/command.js';

// The repository root and the built CLI the tests drive (npm test builds it first).
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
// The real chat of ../shared (or $CHATCAST_SEED_CHAT), used when present.
export const SEED_CHAT = process.env.CHATCAST_SEED_CHAT ?? join(ROOT, '..', 'shared', 'data', 'seed-chat');

// Runs the built CLI as a user would, never throwing: tests look at the exit code.
export async function chatcast(args: string[], env: Record<string, string> = {}) {
  const result = await execa('node', [CLI, ...args], { reject: false, env: { CHATCAST_LOG_LEVEL: 'info', ...env }, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

// A fresh temp folder per test.
export function tempDir(prefix = 'chatcast-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

// Every file under a folder with its sha256, .git and DVC's own cache and temp files excluded.
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(path: string) {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      const rel = relative(dir, full);
      if (rel === '.git' || rel === join('.dvc', 'cache') || rel === join('.dvc', 'tmp')) continue;
      if (entry.isDirectory()) await walk(full);
      else out[rel] = createHash('sha256').update(await readFile(full)).digest('hex');
    }
  }
  await walk(dir);
  return out;
}

// A silent context for calling steps in-process.
export function quietContext(now = Date.now()): Context {
  return { log: pino({ level: 'silent' }), now: () => now, interactive: false };
}

// A workspace made by `chatcast init` with simulated history from `first` through `last`, ingested and
// aggregated in-process and pushed as one version (tagged `last`): where the daily-run tests start.
export async function workspaceWithHistory(root: string, name: string, first: string, last: string): Promise<string> {
  const ws = join(root, name);
  const init = await chatcast(['init', '--workspace', ws, '--remote', join(root, `${name}-remote`)]);
  if (init.exitCode !== 0) throw new Error(`chatcast init failed: ${init.stderr}`);
  const { openWorkspace } = await import('../tasks/io/workspace.js');
  const { ingest } = await import('../tasks/commands/ingest.js');
  const { aggregate } = await import('../tasks/commands/aggregate.js');
  const { daysFrom } = await import('../tasks/core/dates.js');
  const workspace = await openWorkspace(ws);
  for (const day of daysFrom(first, last)) {
    await ingest(workspace, day, quietContext());
    await aggregate(workspace, day, quietContext());
  }
  const push = await chatcast(['push', '--date', last, '--workspace', ws]);
  if (push.exitCode !== 0) throw new Error(`chatcast push failed: ${push.stderr}`);
  return ws;
}

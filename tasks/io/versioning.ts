import { join } from 'node:path';
import type { Logger } from 'pino';
import { dvc, git } from './dvc.js';
import { exists, readText, removeTempFiles } from './files.js';
import { ignoreTempFiles } from './workspace.js';
import YAML from 'yaml';

type StageOutputs = { outs?: (string | Record<string, unknown>)[]; metrics?: (string | Record<string, unknown>)[] };

async function hasOrigin(dir: string): Promise<boolean> {
  return (await git(dir, ['remote'])).split('\n').includes('origin');
}

// $CHATCAST_DVC_REMOTE overrides the workspace's default remote (in .dvc/config.local, never committed),
// so a deployment can point the same workspace at its own storage.
async function useEnvironmentRemote(dir: string): Promise<void> {
  const url = process.env.CHATCAST_DVC_REMOTE;
  if (url) await dvc(dir, ['remote', 'add', '--local', '--force', '--default', 'environment', url]);
}

// Brings the workspace to the last pushed state: git (when the workspace has an origin) and DVC data.
// Uncommitted artifacts of a failed run are overwritten, so the rerun starts from a known state.
export async function pullState(dir: string, log: Logger): Promise<{ pulled: boolean }> {
  if (await hasOrigin(dir)) await git(dir, ['pull', '--ff-only', '--quiet', 'origin', 'HEAD']);
  await useEnvironmentRemote(dir);
  const lock = join(dir, 'dvc.lock');
  const locked = (await exists(lock))
    ? Object.keys((YAML.parse(await readText(lock, 'DVC lock file')) as { stages?: object }).stages ?? {})
    : [];
  if (locked.length === 0) {
    log.info({ step: 'pull' }, 'nothing to pull yet: no day has been pushed from this workspace');
    return { pulled: false };
  }
  await dvc(dir, ['pull', '--force', ...locked]);
  log.info({ step: 'pull', stages: locked }, 'workspace matches the last pushed state');
  return { pulled: true };
}

// Records the artifacts in dvc.lock, commits it to git tagged with the day, and pushes the data
// to the DVC remote. A rerun that changed nothing makes no commit.
export async function pushState(dir: string, day: string, log: Logger): Promise<{ commit: string; changed: boolean; stages: string[] }> {
  // No half-written file may be versioned: drop leftovers, and make sure git and DVC ignore them.
  await removeTempFiles(dir);
  await ignoreTempFiles(dir);
  // Commit the stages whose outputs all exist (after the demo's history only ingest and aggregate do).
  const pipeline = YAML.parse(await readText(join(dir, 'dvc.yaml'), 'pipeline')) as { stages: Record<string, StageOutputs> };
  const stages: string[] = [];
  for (const [name, stage] of Object.entries(pipeline.stages)) {
    const paths = [...(stage.outs ?? []), ...(stage.metrics ?? [])].map((o) => (typeof o === 'string' ? o : Object.keys(o)[0]));
    if ((await Promise.all(paths.map((p) => exists(join(dir, p))))).every(Boolean)) stages.push(name);
  }
  if (stages.length > 0) await dvc(dir, ['commit', '--force', ...stages]);
  await git(dir, ['add', '--all']);
  const staged = (await git(dir, ['diff', '--cached', '--name-only'])).trim();
  if (staged) await git(dir, ['commit', '--quiet', '-m', `chatcast ${day}`]);
  const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const tagged = (await git(dir, ['rev-parse', '--verify', '--quiet', `refs/tags/${day}^{commit}`]).catch(() => '')).trim();
  if (staged || !tagged) await git(dir, ['tag', '--force', day]);
  await useEnvironmentRemote(dir);
  await dvc(dir, ['push']);
  if (await hasOrigin(dir)) {
    await git(dir, ['push', '--quiet', 'origin', 'HEAD']);
    await git(dir, ['push', '--quiet', '--force', 'origin', `refs/tags/${day}`]);
  }
  log.info({ step: 'push', day, commit: head, changed: Boolean(staged), stages }, staged ? `pushed ${day} as ${head.slice(0, 8)}` : `nothing new to push for ${day}`);
  return { commit: head, changed: Boolean(staged), stages };
}

type LockedOut = { path: string; md5?: string };

// The data version of a pushed day: its tag's commit and the dvc.lock hashes of the series and the model
// there. A day that was never pushed has only its would-be tag.
export async function dayVersion(dir: string, day: string): Promise<{ tag: string; commit: string | null; series_md5: string | null; model_md5: string | null }> {
  const commit = (await git(dir, ['rev-parse', '--verify', '--quiet', `refs/tags/${day}^{commit}`]).catch(() => '')).trim();
  if (!commit) return { tag: day, commit: null, series_md5: null, model_md5: null };
  const lock = await git(dir, ['show', `${commit}:dvc.lock`]).catch(() => '');
  const stages = ((lock ? YAML.parse(lock) : {}) as { stages?: Record<string, { outs?: LockedOut[] }> }).stages ?? {};
  const md5 = (stage: string, path: string) => stages[stage]?.outs?.find((o) => o.path === path)?.md5 ?? null;
  return { tag: day, commit, series_md5: md5('aggregate', 'aggregate'), model_md5: md5('train', 'train') };
}

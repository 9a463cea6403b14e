import { readFile, realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { dvc, git } from './dvc.js';
import { exists, readText, removeTempFiles } from './files.js';
import { ignoreTempFiles } from './workspace.js';
import YAML from 'yaml';
import { readLockStages } from './artifacts.js';
import { declareMonths, installCheckoutHook, migrateLayout, removeUnpushedMonths } from './layout.js';
import { addDefaultRemote, assertRemoteReachable, isUrl } from './remote.js';

type StageOutputs = { outs?: (string | Record<string, unknown>)[]; metrics?: (string | Record<string, unknown>)[] };

async function hasOrigin(dir: string): Promise<boolean> {
  return (await git(dir, ['remote'])).split('\n').includes('origin');
}

// $CHATCAST_DVC_REMOTE overrides the workspace's default remote (in .dvc/config.local, never committed),
// so a deployment can point the same workspace at its own storage. A config.local that already says so
// is left alone: `dvc remote add` would write the same settings again, at a second of Python start-up.
async function useEnvironmentRemote(dir: string): Promise<void> {
  const url = process.env.CHATCAST_DVC_REMOTE;
  if (!url || (await environmentRemoteSet(dir, url))) return;
  await addDefaultRemote(dir, 'environment', url, { local: true });
}

// Whether .dvc/config.local holds exactly what addDefaultRemote(dir, 'environment', url, { local: true })
// writes: core.remote = environment and a remote "environment" with this url and nothing else. Only for a
// url DVC stores as given (a URL or an absolute folder; addDefaultRemote makes a non-ASCII folder absolute).
async function environmentRemoteSet(dir: string, url: string): Promise<boolean> {
  const stored = /^[\x20-\x7e]*$/.test(url) || isUrl(url) ? url : resolve(dir, url);
  if (!/^\w+:\/\//.test(stored) && !isAbsolute(stored)) return false;
  const local = await readConfigLevel(join(dir, '.dvc', 'config.local'));
  const remote = local?.remotes.get('environment');
  return local?.core.get('remote') === 'environment' && remote?.size === 1 && remote.get('url') === stored;
}

type ConfigLevel = { core: Map<string, string>; remotes: Map<string, Map<string, string>> };

// One level of DVC's config as DVC 3's configobj reads it (section and key names lowercased,
// `remote "NAME"` sections by name), or undefined when the file holds anything but plain `[section]` and
// `key = value` lines and comment lines (quoted or list values, trailing comments, %-interpolation,
// nested or repeated sections): such a file only DVC reads for sure. A missing file is an empty level.
async function readConfigLevel(file: string): Promise<ConfigLevel | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? { core: new Map(), remotes: new Map() } : undefined;
  }
  if (/[\r\ufeff]/.test(text)) return undefined;
  const sections = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const marker = /^\[\s*(?:'([^']+)'|"([^"]+)"|([^'"\s[\]][^[\]]*?))\s*\]$/.exec(line);
    if (marker) {
      const name = (marker[1] ?? marker[2] ?? marker[3]).toLowerCase();
      if (sections.has(name)) return undefined;
      sections.set(name, (section = new Map()));
      continue;
    }
    const setting = /^([A-Za-z0-9_.-]+)\s*=\s*([^\s'",#%(][^'",#%]*)$/.exec(line);
    if (!setting || !section || section.has(setting[1].toLowerCase())) return undefined;
    section.set(setting[1].toLowerCase(), setting[2]);
  }
  const level: ConfigLevel = { core: sections.get('core') ?? new Map(), remotes: new Map() };
  for (const [name, settings] of sections) {
    const remote = /^\s*remote\s*"(.*)"\s*$/.exec(name);
    if (!remote) continue;
    if (level.remotes.has(remote[1])) return undefined;
    level.remotes.set(remote[1], settings);
  }
  return level;
}

// The workspace's default DVC remote as `dvc config --list` gives it (see defaultRemoteOf), read from
// .dvc/config and .dvc/config.local without a DVC process; undefined when only DVC can tell: a file
// readConfigLevel leaves to DVC, a name or URL not set in the workspace (the global or system config may
// set it), a URL DVC would expand (~) or a scheme it may not take for one.
async function readDefaultRemote(dir: string): Promise<{ name: string; url: string } | undefined> {
  const levels = await Promise.all(['config', 'config.local'].map((file) => readConfigLevel(join(dir, '.dvc', file))));
  if (!(await exists(join(dir, '.dvc', 'config'))) || levels.some((level) => level === undefined)) return undefined;
  const [repo, local] = levels as ConfigLevel[];
  const name = local.core.get('remote') ?? repo.core.get('remote');
  const url = name === undefined ? undefined : (local.remotes.get(name)?.get('url') ?? repo.remotes.get(name)?.get('url'));
  if (name === undefined || url === undefined || url.startsWith('~')) return undefined;
  if (/^\w+:\/\//.test(url)) return { name, url };
  if (url.includes('://')) return undefined;
  // DVC takes a relative folder from .dvc as its process sees it: symlinks in the workspace path resolved.
  return { name, url: isAbsolute(url) ? url : resolve(await realpath(dir), '.dvc', url) };
}

// Applies $CHATCAST_DVC_REMOTE and fails when the default remote is a local folder that is not there, with
// assertRemoteReachable's error: what a pull and a push do first. A folder that is there needs no DVC
// process; a missing one, or a config only DVC reads for sure, goes to assertRemoteReachable.
async function checkRemote(dir: string): Promise<void> {
  await useEnvironmentRemote(dir);
  const remote = await readDefaultRemote(dir);
  const present = remote !== undefined && (isUrl(remote.url) || (await stat(remote.url).then(() => true, (error: NodeJS.ErrnoException) => error.code !== 'ENOENT')));
  if (!present) await assertRemoteReachable(dir);
}

// The days pushed from this workspace (its day tags), oldest first: the newest is the line between the
// live day and history (see openStep).
export async function pushedDays(dir: string): Promise<string[]> {
  return (await git(dir, ['tag', '--list', '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'])).split('\n').filter(Boolean).sort();
}

// Undoes what an interrupted push left in git's working state (a stale index.lock, a half-updated
// dvc.lock), so the rerun starts from the last commit. Safe: the lease keeps other runs out.
async function restoreCommitted(dir: string, log: Logger): Promise<void> {
  const indexLock = join(dir, '.git', 'index.lock');
  if (await exists(indexLock)) {
    await rm(indexLock, { force: true });
    log.warn({ dir }, 'removed .git/index.lock that an interrupted git command left');
  }
  const committed = (await git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD:dvc.lock']).catch(() => '')).trim();
  if (committed) await git(dir, ['checkout', '--quiet', 'HEAD', '--', 'dvc.lock']);
  else await rm(join(dir, 'dvc.lock'), { force: true });
  // DVC rewrites .dvc/tmp/rwlock in place: a kill mid-write leaves it empty or cut, and every DVC command
  // then fails ("JSON structure is corrupted") until it is deleted. A readable one DVC cleans itself.
  const rwlock = join(dir, '.dvc', 'tmp', 'rwlock');
  const text = await readFile(rwlock, 'utf8').catch(() => undefined);
  if (text !== undefined && !isJson(text)) {
    await rm(rwlock, { force: true });
    log.warn({ dir }, 'removed .dvc/tmp/rwlock that an interrupted DVC command left unreadable');
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Brings the workspace to the last pushed state: git (when the workspace has an origin) and DVC data.
// Uncommitted artifacts of a failed run are overwritten, so the rerun starts from a known state.
export async function pullState(dir: string, log: Logger): Promise<{ pulled: boolean }> {
  await restoreCommitted(dir, log);
  // What a killed checkout left (DVC ignores its own temp names, so `dvc pull --force` would keep them).
  const removed = await removeTempFiles(dir);
  if (removed.length > 0) log.warn({ step: 'pull', removed: removed.length, first: removed[0] }, `removed ${removed.length} half-written file(s) an interrupted run left, e.g. ${removed[0]}`);
  if (await hasOrigin(dir)) await git(dir, ['pull', '--ff-only', '--quiet', 'origin', 'HEAD']);
  await checkRemote(dir);
  const lock = join(dir, 'dvc.lock');
  const lockStages = (await exists(lock)) ? readLockStages(await readText(lock, 'DVC lock file')) : {};
  const locked = Object.keys(lockStages);
  if (locked.length === 0) {
    log.info({ step: 'pull' }, 'nothing to pull yet: no day has been pushed from this workspace');
    return { pulled: false };
  }
  await dvc(dir, ['pull', '--force', ...locked]);
  await removeUnpushedMonths(dir, lockStages, log);
  await migrateLayout(dir, log);
  await declareMonths(dir);
  log.info({ step: 'pull', stages: locked }, 'workspace matches the last pushed state');
  return { pulled: true };
}

// Records the artifacts in dvc.lock, commits it to git tagged with the day, and pushes the data
// to the DVC remote. A rerun that changed nothing makes no commit.
export async function pushState(dir: string, day: string, log: Logger): Promise<{ commit: string; changed: boolean; stages: string[] }> {
  // A remote that is gone stops the push before anything is committed.
  await checkRemote(dir);
  // A push killed mid-way leaves .git/index.lock or a dvc.lock DVC was rewriting (empty, or half its
  // stages): start from the last commit, as pull does; `dvc commit --force` below rewrites every stage.
  await restoreCommitted(dir, log);
  // No half-written file may be versioned: drop leftovers, and make sure git and DVC ignore them.
  await removeTempFiles(dir);
  await ignoreTempFiles(dir);
  // Each month folder of ingest, forecast, render and report/outbox is its own output (see MONTHLY).
  await migrateLayout(dir, log);
  await declareMonths(dir);
  await installCheckoutHook(dir, log);
  // Commit the stages that have outputs and all of them exist (after the demo's history only ingest and
  // aggregate do).
  const pipeline = YAML.parse(await readText(join(dir, 'dvc.yaml'), 'pipeline')) as { stages: Record<string, StageOutputs> };
  const stages: string[] = [];
  for (const [name, stage] of Object.entries(pipeline.stages)) {
    const paths = [...(stage.outs ?? []), ...(stage.metrics ?? [])].map((o) => (typeof o === 'string' ? o : Object.keys(o)[0]));
    if (paths.length > 0 && (await Promise.all(paths.map((p) => exists(join(dir, p))))).every(Boolean)) stages.push(name);
  }
  // --no-relink: by default DVC deletes each output it has cached and copies it back from the cache, so
  // a kill in between loses the workspace's file, and the rerun would commit the stage without it.
  if (stages.length > 0) await dvc(dir, ['commit', '--force', '--no-relink', ...stages]);
  await git(dir, ['add', '--all']);
  const staged = (await git(dir, ['diff', '--cached', '--name-only'])).trim();
  // A day before the newest pushed one is history: what it adds (a tracker's ledger) is committed on
  // top of the newest day (the next day's tag will include it), and no tag moves, so checking out a day's
  // tag still shows that day.
  const last = (await pushedDays(dir)).at(-1);
  const history = last !== undefined && day < last;
  if (staged) await git(dir, ['commit', '--quiet', '-m', history ? `chatcast ${last} (and ${day}'s history)` : `chatcast ${day}`]);
  const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const tagged = (await git(dir, ['rev-parse', '--verify', '--quiet', `refs/tags/${day}^{commit}`]).catch(() => '')).trim();
  // A push killed between its commit and its tag left HEAD as this day's commit without the tag on it.
  const subject = (await git(dir, ['log', '-1', '--format=%s'])).trim();
  const untagged = tagged !== head && subject === `chatcast ${day}`;
  if (!history && (staged || !tagged || untagged)) await git(dir, ['tag', '--force', day]);
  await dvc(dir, ['push']);
  if (await hasOrigin(dir)) {
    await git(dir, ['push', '--quiet', 'origin', 'HEAD']);
    if (!history) await git(dir, ['push', '--quiet', '--force', 'origin', `refs/tags/${day}`]);
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
  const stages: Record<string, { outs?: LockedOut[] }> = lock ? readLockStages(lock, `dvc.lock of ${day} (commit ${commit.slice(0, 8)})`) : {};
  const md5 = (stage: string, path: string) => stages[stage]?.outs?.find((o) => o.path === path)?.md5 ?? null;
  return { tag: day, commit, series_md5: md5('aggregate', 'aggregate'), model_md5: md5('train', 'train') };
}

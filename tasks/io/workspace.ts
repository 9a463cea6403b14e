import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { ChatcastError } from '../core/errors.js';
import { validateParams, type Params } from '../core/params.js';
import { exists, readText, TEMP_IGNORE, writeFiles } from './files.js';
import { dvc, git } from './dvc.js';
import { PACKAGE_ROOT } from './package.js';
import { addDefaultRemote, isUrl } from './remote.js';
import { installCheckoutHook } from './layout.js';

// An opened workspace: its folder and its validated params.yaml.
export interface Workspace {
  dir: string;
  params: Params;
  path: (...parts: string[]) => string;
}

// --workspace, else $CHATCAST_WORKSPACE, else the current folder.
export function resolveWorkspaceDir(arg?: string): string {
  return resolve(arg || process.env.CHATCAST_WORKSPACE || process.cwd());
}

// Opens a workspace made by `chatcast init`; anything else is refused before a file is written.
export async function openWorkspace(dirArg: string): Promise<Workspace> {
  const dir = resolve(dirArg);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ChatcastError(
      'WORKSPACE',
      `Workspace "${dir}" does not exist: create it with "chatcast init --workspace ${dir}"`,
    );
  }
  for (const marker of ['dvc.yaml', 'params.yaml', '.dvc', '.git']) {
    if (!(await exists(join(dir, marker)))) {
      throw new ChatcastError(
        'WORKSPACE',
        `Workspace "${dir}" is not initialised (no ${marker}): run "chatcast init --workspace ${dir}"`,
      );
    }
  }
  const text = await readText(join(dir, 'params.yaml'), 'params file');
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (error) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml in "${dir}": ${(error as Error).message}`, { cause: error });
  }
  return { dir, params: validateParams(raw), path: (...parts) => join(dir, ...parts) };
}

// Resolves a source path from params.yaml (relative to the workspace) or a flag (relative to the caller).
export function resolveFrom(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

// What `init` may be asked to set up.
export interface InitOptions {
  remote?: string;
  timezone?: string;
  source?: string;
  title?: string;
}

// Keeps half-written files out of git and DVC (.gitignore, .dvcignore); a workspace made before this
// rule gets it on its next push.
export async function ignoreTempFiles(dir: string): Promise<void> {
  for (const name of ['.gitignore', '.dvcignore']) {
    const file = join(dir, name);
    const text = (await exists(file)) ? await readText(file, name) : '';
    if (!text.split('\n').includes(TEMP_IGNORE)) {
      await writeFiles([{ path: file, data: `${text}${text && !text.endsWith('\n') ? '\n' : ''}# Half-written files of an interrupted step (never versioned)\n${TEMP_IGNORE}\n` }]);
    }
  }
}

// The DVC remote `init` uses when none is named: a folder beside the workspace.
export function defaultRemote(dir: string): string {
  return join(dirname(dir), `${basename(dir)}-dvc-remote`);
}

// Makes a folder a chatcast workspace: git + DVC project, dvc.yaml, params.yaml and a default remote.
// Running it on a workspace again changes nothing.
export async function initWorkspace(dirArg: string, options: InitOptions = {}): Promise<{ workspace: Workspace; created: boolean; remote: string }> {
  const dir = resolve(dirArg);
  if ((await exists(join(dir, 'dvc.yaml'))) && (await exists(join(dir, '.dvc')))) {
    const workspace = await openWorkspace(dir);
    const remote = (await dvc(dir, ['remote', 'list'])).trim();
    return { workspace, created: false, remote };
  }
  await dvc(process.cwd(), ['--version']);
  const existed = await exists(dir);
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new ChatcastError(
      'WORKSPACE',
      `Cannot init "${dir}": the folder is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); choose an empty or new folder`,
    );
  }
  try {
    return await populate(dir, options);
  } catch (error) {
    // Leave the folder as it was found: gone if init made it, empty if it was empty.
    if (existed) await Promise.all((await readdir(dir)).map((e) => rm(join(dir, e), { recursive: true, force: true })));
    else await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function populate(dir: string, options: InitOptions) {
  // The checkout's own params.yaml and dvc.yaml are the templates, comments and all.
  const params = YAML.parseDocument(await readText(join(PACKAGE_ROOT, 'params.yaml'), 'params template'));
  if (options.timezone !== undefined) params.setIn(['chat', 'timezone'], options.timezone);
  if (options.source !== undefined) params.setIn(['ingest', 'source'], options.source);
  if (options.title !== undefined) params.setIn(['chat', 'title'], options.title);
  validateParams(params.toJS());
  const remoteArg = options.remote ?? defaultRemote(dir);
  const remote = isUrl(remoteArg) ? remoteArg : resolve(remoteArg);

  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  await git(dir, ['config', 'user.name', 'chatcast']);
  await git(dir, ['config', 'user.email', 'chatcast@localhost']);
  await dvc(dir, ['init']);
  await dvc(dir, ['config', 'core.analytics', 'false']);
  await dvc(dir, ['config', 'core.autostage', 'true']);
  await addDefaultRemote(dir, 'storage', remote); // last of the DVC config writes: see addDefaultRemote
  await writeFiles([
    { path: join(dir, 'params.yaml'), data: params.toString() },
    { path: join(dir, 'dvc.yaml'), data: await readText(join(PACKAGE_ROOT, 'dvc.yaml'), 'pipeline template') },
    { path: join(dir, '.gitignore'), data: `# The lease of the run in progress (see chatcast pull); DVC adds its outputs below.\n/.chatcast/\n# Half-written files of an interrupted step: never versioned, removed by the next step.\n${TEMP_IGNORE}\n` },
  ]);
  await ignoreTempFiles(dir);
  await installCheckoutHook(dir);
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '-m', 'chatcast workspace']);
  // The remote folder last, so a failed init leaves none behind. Only init makes it (see assertRemoteReachable).
  if (!isUrl(remote)) await mkdir(remote, { recursive: true });
  return { workspace: await openWorkspace(dir), created: true, remote };
}

import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ChatcastError } from '../core/errors.js';
import { dvc } from './dvc.js';

// A DVC remote URL with a scheme (s3://, gs://, ssh://, …); anything else is a local folder.
export function isUrl(remote: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(remote);
}

// Adds a DVC remote and makes it the default: in .dvc/config (committed) or, with `local`, in
// .dvc/config.local (never committed, where $CHATCAST_DVC_REMOTE goes).
//
// DVC writes its config files as ASCII (configobj without an encoding), so `dvc remote add` fails on a
// URL with any other character, a Cyrillic folder name say, and leaves the file it was writing empty.
// It reads UTF-8 fine. So DVC writes the entry with an ASCII stand-in for the URL (quoted as the URL
// would be: only non-ASCII characters differ) and chatcast then puts the real URL in its place.
export async function addDefaultRemote(dir: string, name: string, url: string, options: { local?: boolean } = {}): Promise<void> {
  const args = ['remote', 'add', ...(options.local ? ['--local', '--force'] : []), '--default', name];
  if (/^[\x20-\x7e]*$/.test(url)) {
    await dvc(dir, [...args, url]);
    return;
  }
  // A relative folder is taken from the workspace, as DVC would, but kept absolute: DVC rewrites a
  // relative path, which would no longer hold the stand-in as given.
  const real = isUrl(url) ? url : resolve(dir, url);
  const standIn = [...real].map((c) => (/[\x20-\x7e]/.test(c) ? c : `_chatcast_u${c.codePointAt(0)!.toString(16)}_`)).join('');
  await dvc(dir, [...args, standIn]);
  const file = join(dir, '.dvc', options.local ? 'config.local' : 'config');
  const parts = (await readFile(file, 'utf8')).split(standIn);
  if (parts.length !== 2) {
    throw new ChatcastError('EXTERNAL', `Could not record the DVC remote "${real}" in ${file}: DVC did not write it as given`);
  }
  await writeFile(`${file}.chatcast-tmp`, parts.join(real));
  await rename(`${file}.chatcast-tmp`, file);
}

// The workspace's default DVC remote as DVC resolves it (.dvc/config.local over .dvc/config; a
// relative folder made absolute), or undefined when there is none. `dvc config --list` prints each
// level's settings as KEY=VALUE lines, system first, .dvc/config.local last (`dvc remote list` wraps
// a long URL over lines).
export async function defaultRemoteOf(dir: string): Promise<{ name: string; url: string } | undefined> {
  let name: string | undefined;
  const urls = new Map<string, string>();
  for (const line of (await dvc(dir, ['config', '--list'])).split('\n')) {
    const setting = /^([^=]+)=(.*)$/.exec(line);
    if (!setting) continue;
    if (setting[1] === 'core.remote') name = setting[2];
    const remote = /^remote\.(.+)\.url$/.exec(setting[1]);
    if (remote) urls.set(remote[1], setting[2]);
  }
  const url = name === undefined ? undefined : urls.get(name);
  return name === undefined || url === undefined ? undefined : { name, url };
}

// Fails when the default remote is a local folder that is not there. DVC would make it anew on push
// (and find nothing in it on pull), so a remote disk that is not mounted, or a folder someone deleted,
// would swallow the data without a word. Only `chatcast init` makes a remote folder. Retryable (exit 7):
// the disk may come back. A URL remote (s3://…) is left to DVC, which names a missing bucket itself.
export async function assertRemoteReachable(dir: string): Promise<void> {
  const remote = await defaultRemoteOf(dir);
  if (!remote || isUrl(remote.url)) return;
  const missing = await stat(remote.url).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT', // anything else (not a folder, no access) DVC reports
  );
  if (missing) {
    throw new ChatcastError(
      'EXTERNAL',
      `The DVC remote folder "${remote.url}" (remote "${remote.name}" of "${dir}") does not exist. ` +
        'chatcast never makes it anew outside "chatcast init", so that an unmounted disk cannot silently take the data: ' +
        'mount the disk or restore the folder and retry; if its data is truly lost, create the folder again by hand ' +
        `(mkdir -p "${remote.url}") and run "chatcast push" to upload what this workspace still holds.`,
    );
  }
}

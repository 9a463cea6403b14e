import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { ChatcastError } from '../core/errors.js';

// Reads a file a step depends on; a missing file names the step that should have made it.
export async function readText(path: string, what: string, hint = ''): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ChatcastError('STATE', `Missing ${what} "${path}"${hint ? `: ${hint}` : ''}`, { cause: error });
    }
    throw new ChatcastError('STATE', `Cannot read ${what} "${path}": ${(error as Error).message}`, { cause: error });
  }
}

// True when a path exists (file or folder).
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// Writes a set of files so that a crash leaves either the old or the new version of each, never
// half a file: every file goes to a temp name beside its target first, then all are renamed.
// An unchanged file is not touched, so reruns keep timestamps and DVC sees nothing new.
export async function writeFiles(files: { path: string; data: string | Uint8Array }[]): Promise<string[]> {
  const staged: Staged[] = [];
  try {
    for (const { path, data } of files) await stageFile(staged, path, data);
    for (const { temp, path } of staged) await rename(temp, path);
    return staged.map((s) => s.path);
  } catch (error) {
    await Promise.all(staged.map((s) => rm(s.temp, { force: true })));
    throw new ChatcastError('EXTERNAL', `Cannot write ${files.map((f) => f.path).join(', ')}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

type Staged = { temp: string; path: string };

// Writes `data` to a synced temp file beside `path` and adds it to `staged` (before writing, so a
// failure's cleanup finds it); a file that already holds these bytes is skipped.
async function stageFile(staged: Staged[], path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const current = await readFile(path).catch(() => undefined);
  if (current && current.equals(bytes)) return;
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  staged.push({ temp, path });
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// The name writeFiles gives a file while it is being written; a crash can leave one behind. So can DVC
// (dvc-objects' tmp_fname: `.` + 22 url-safe base64 characters + `.tmp`, beside a file it checks out).
export const TEMP_FILE = /^\.(.+\.[0-9a-f]{12}|[A-Za-z0-9_-]{22})\.tmp$/;
// The same as a git/DVC ignore pattern, so a leftover is never versioned even before it is cleaned.
export const TEMP_IGNORE = '.*.tmp';

// Deletes the temp files an interrupted write left anywhere in the workspace (not in .git or .dvc):
// every step starts with this, so no leftover outlives the next run.
export async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  async function walk(path: string) {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (!['.git', '.dvc', '.chatcast', 'node_modules'].includes(entry.name)) await walk(full);
      } else if (TEMP_FILE.test(entry.name)) {
        await rm(full, { force: true });
        removed.push(full);
      }
    }
  }
  await walk(dir);
  return removed;
}

// Writes many big files as one atomic set without holding them all in memory (an import of years of
// partitions): each file is staged to writeFiles' temp name beside its target as it comes, and all are
// renamed at `commit`. Same rules as writeFiles: an unchanged file is not touched, a failure removes
// every staged temp file, and a kill leaves only `.*.tmp` names that the next step removes.
export class FileBatch {
  private staged: Staged[] = [];

  // Stages one file (skipped when its bytes are already there); a failure removes all staged so far.
  async stage(path: string, data: string | Uint8Array): Promise<void> {
    try {
      await stageFile(this.staged, path, data);
    } catch (error) {
      await this.abort();
      throw new ChatcastError('EXTERNAL', `Cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  // Renames every staged file over its target; returns the paths that changed.
  async commit(): Promise<string[]> {
    try {
      for (const { temp, path } of this.staged) await rename(temp, path);
      return this.staged.map((s) => s.path);
    } catch (error) {
      await this.abort();
      throw new ChatcastError('EXTERNAL', `Cannot write ${this.staged.map((s) => s.path).join(', ')}: ${(error as Error).message}`, { cause: error });
    } finally {
      this.staged = [];
    }
  }

  // Removes what was staged and not committed (a failed or abandoned batch).
  async abort(): Promise<void> {
    const staged = this.staged;
    this.staged = [];
    await Promise.all(staged.map((s) => rm(s.temp, { force: true })));
  }
}

// A private scratch folder of a step (spill files of a big import, a source's index being built):
// whatever a killed run left there is removed first, and `remove` deletes it when the step ends.
export async function scratchDir(path: string): Promise<{ path: string; remove: () => Promise<void> }> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

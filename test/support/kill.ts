import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { once } from 'node:events';
import seedrandom from 'seedrandom';

// Support for test/commands/kill.test.ts: kill -9 a chatcast step with everything it started, and
// compare what the rerun leaves with what an uninterrupted run left.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A seeded generator, so the moments of a failing run can be replayed (CHATCAST_KILL_SEED).
export function rng(seed: string): () => number {
  return seedrandom(seed);
}

// K moments spread over [0, duration): one uniformly random moment in each K-th of it, so even a few
// kills reach the start, the middle and the end of a step.
export function killMoments(random: () => number, kills: number, durationMs: number): number[] {
  return Array.from({ length: kills }, (_, i) => Math.round(((i + random()) / kills) * durationMs));
}

// Processes as /proc lists them: pid → parent, process group, state (Z: a zombie, dead already).
async function processTable(): Promise<Map<number, { ppid: number; pgrp: number; state: string }>> {
  const table = new Map<number, { ppid: number; pgrp: number; state: string }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces and parentheses
    if (rest.length < 3) continue;
    table.set(Number(name), { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) });
  }
  return table;
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // gone already
  }
}

// kill -9 of a step started by runDetached, as an OOM killer or a lost container would do it: its
// whole process group dies at once (DVC, git, Chromium). The group is stopped first so nothing forks
// or exits while its descendants are listed; a descendant in a group of its own (a browser started
// detached) is stopped and killed with its group too. Resolves when none of them runs any more.
export async function killTree(pid: number): Promise<number[]> {
  signal(-pid, 'SIGSTOP');
  const tree = new Set<number>([pid]);
  const groups = new Set<number>([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, info] of await processTable()) {
      if (tree.has(p) || !tree.has(info.ppid)) continue;
      tree.add(p);
      grew = true;
      signal(p, 'SIGSTOP');
      if (!groups.has(info.pgrp) && info.pgrp === p) {
        groups.add(info.pgrp);
        signal(-info.pgrp, 'SIGSTOP');
      }
    }
  }
  for (const g of groups) signal(-g, 'SIGKILL');
  for (const p of tree) signal(p, 'SIGKILL');
  for (let i = 0; i < 200; i++) {
    const table = await processTable();
    if ([...tree].every((p) => !table.has(p) || table.get(p)!.state === 'Z')) return [...tree];
    await sleep(50);
  }
  throw new Error(`processes of the killed step still run 10 s after kill -9: ${[...tree].join(', ')}`);
}

// Starts `node CLI ARGS` in a process group of its own (so killTree reaches all it starts).
export function runDetached(cli: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cli, ...args], { detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = once(child, 'exit').then(([code, sig]) => ({ code: code as number | null, signal: sig as NodeJS.Signals | null }));
  return { pid: child.pid!, exited, output: () => output };
}

// Reports every write a kill can cut in half, the moment it starts: a temp file (`.*.tmp`, writeFiles'
// first move) appearing anywhere outside .git and .dvc; git taking .git/index.lock (git add, commit);
// DVC rewriting dvc.lock in place or its .dvc/tmp/rwlock. One inotify watch per folder (Node's
// recursive watch misses events on Linux), folders made meanwhile included.
export function watchWrites(ws: string, onWrite: (what: string) => void): { close: () => void } {
  const watchers = new Map<string, FSWatcher>();
  const seen = new Set<string>();
  const last = new Map<string, number>();
  // A file rewritten in place fires on truncation and on every write: one write per burst.
  const burst = (what: string) => {
    const now = Date.now();
    const before = last.get(what) ?? 0;
    last.set(what, now);
    if (now - before > 20) onWrite(what);
  };
  const listen = (dir: string, onEvent: (event: string, name: string) => void) => {
    if (watchers.has(dir)) return false;
    try {
      const watcher = watch(dir, (event, name) => name && onEvent(event, String(name)));
      watcher.on('error', () => undefined);
      watchers.set(dir, watcher);
      return true;
    } catch {
      return false; // removed before it could be watched
    }
  };
  const add = (dir: string) => {
    const rel = relative(ws, dir);
    if (rel === '.git' || rel === '.dvc' || rel.startsWith(`.git${sep}`) || rel.startsWith(`.dvc${sep}`)) return;
    const fresh = listen(dir, (event, name) => {
      const full = join(dir, name);
      if (isTempName(name)) {
        if (!seen.has(full)) {
          seen.add(full);
          onWrite(relative(ws, full));
        }
      } else if (rel === '' && name === 'dvc.lock') {
        if (event === 'change') burst('dvc.lock');
      } else if (!watchers.has(full)) {
        try {
          if (statSync(full).isDirectory()) add(full);
        } catch {
          // gone again
        }
      }
    });
    if (!fresh) return;
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      // gone again
    }
    for (const entry of entries) if (entry.isDirectory()) add(join(dir, entry.name));
  };
  add(ws);
  // git creates index.lock and renames it over index: two events per lock taken.
  let lockEvents = 0;
  listen(join(ws, '.git'), (event, name) => {
    if (name === 'index.lock' && event === 'rename' && lockEvents++ % 2 === 0) onWrite('.git/index.lock');
  });
  const dvcTmp = join(ws, '.dvc', 'tmp');
  const watchDvcTmp = () =>
    listen(dvcTmp, (event, name) => {
      if (name === 'rwlock' && event === 'change') burst('.dvc/tmp/rwlock');
    });
  if (!watchDvcTmp()) listen(join(ws, '.dvc'), (_event, name) => name === 'tmp' && watchDvcTmp());
  return { close: () => watchers.forEach((w) => w.close()) };
}

// When to kill a step: `afterMs` after it started, or `extraMs` after its `write`-th write began (see
// watchWrites: a kill in the middle of writing its artifacts or its version); `never` runs it to its end.
export type Moment = { afterMs: number } | { write: number; extraMs: number } | 'never';

export const describeMoment = (m: Moment) => (m === 'never' ? 'never' : 'afterMs' in m ? `after ${m.afterMs} ms` : `${m.extraMs} ms into write #${m.write}`);

// Runs a step of the CLI in `ws` and kills it at `moment` unless it ended first; says which happened,
// how long it ran and which writes it began meanwhile.
export async function runStep(cli: string, args: string[], env: NodeJS.ProcessEnv, ws: string, moment: Moment) {
  const writes: string[] = [];
  let fire: () => void = () => undefined;
  const due = new Promise<void>((resolve) => (fire = resolve));
  const watcher = watchWrites(ws, (what) => {
    writes.push(what);
    if (moment !== 'never' && 'write' in moment && writes.length === moment.write) setTimeout(fire, moment.extraMs);
  });
  const started = Date.now();
  const run = runDetached(cli, args, env);
  let timer: NodeJS.Timeout | undefined;
  if (moment !== 'never' && 'afterMs' in moment) timer = setTimeout(fire, moment.afterMs);
  const ended = await Promise.race([run.exited, due.then(() => undefined)]);
  clearTimeout(timer);
  let killed = false;
  let trigger: string | undefined;
  if (!ended) {
    trigger = writes.at(-1);
    await killTree(run.pid);
    killed = true;
  }
  const exit = ended ?? (await run.exited);
  const ms = Date.now() - started;
  watcher.close();
  return { killed, exit, ms, writes, trigger, output: run.output() };
}

// The folders that are no artifact: git's and DVC's internals and chatcast's lease.
const INTERNAL = ['.git', join('.dvc', 'cache'), join('.dvc', 'tmp'), '.chatcast'];
// Values that say when something happened, not what: the moment each tracker got a day.
const normalizers: Record<string, (bytes: Buffer) => Buffer> = {
  [join('track', 'ledger.json')]: (bytes) => Buffer.from(bytes.toString('utf8').replace(/"tracked_at": ?"[^"]*"/g, '"tracked_at":"(when)"')),
};

// Every artifact of a workspace with its sha256: every file but those of INTERNAL, with the
// timestamps of normalizers (and what `masks` adds) masked.
export async function artifacts(ws: string, masks: Record<string, (bytes: Buffer) => Buffer> = {}): Promise<Record<string, string>> {
  const mask = { ...normalizers, ...masks };
  const out: Record<string, string> = {};
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(ws, full);
      if (INTERNAL.includes(rel)) continue;
      if (entry.isDirectory()) await walk(full);
      else {
        const bytes = await readFile(full);
        out[rel] = createHash('sha256').update(mask[rel]?.(bytes) ?? bytes).digest('hex');
      }
    }
  }
  await walk(ws);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

// The name a half-written file has (tasks/io/files.ts TEMP_IGNORE, `.*.tmp`: broader than TEMP_FILE).
export const isTempName = (name: string) => name.startsWith('.') && name.endsWith('.tmp') && name.length > 5;

// Every file of the workspace with a temp name, outside git's and DVC's internals (.chatcast included).
export async function tempFiles(ws: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(ws, full);
      if (rel === '.git' || rel === join('.dvc', 'cache') || rel === join('.dvc', 'tmp')) continue;
      if (entry.isDirectory()) await walk(full);
      else if (isTempName(entry.name)) found.push(rel);
    }
  }
  await walk(ws);
  return found;
}

// A Telegram Desktop export (result.json) of `count` messages spread over [fromMs, toMs), ids from 1,
// deterministic for a seed: big enough that reading it takes seconds, so a kill can land mid-import.
export async function writeBigExport(file: string, options: { count: number; fromMs: number; toMs: number; seed: string; chatId: number }) {
  const random = rng(options.seed);
  const out = createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : once(out, 'drain').then(() => undefined));
  await write(`{\n "name": "Большой чат",\n "type": "private_supergroup",\n "id": ${options.chatId},\n "messages": [\n`);
  const span = options.toMs - options.fromMs;
  const times = Array.from({ length: options.count }, () => options.fromMs + Math.floor(random() * span)).sort((a, b) => a - b);
  for (let i = 0; i < options.count; i++) {
    const id = i + 1;
    const unix = Math.floor(times[i] / 1000);
    const user = 100 + Math.floor(random() * 40);
    const kind = random();
    const item: Record<string, unknown> = {
      id,
      type: 'message',
      date: new Date(unix * 1000).toISOString().slice(0, 19),
      date_unixtime: String(unix),
      from: `Участник ${user}`,
      from_id: `user${user}`,
      text: kind < 0.8 ? `сообщение номер ${id}` : '',
      text_entities: [],
    };
    if (kind >= 0.8 && kind < 0.9) item.photo = `photos/photo_${id}.jpg`;
    else if (kind >= 0.9) item.media_type = 'sticker';
    if (id > 1 && random() < 0.2) item.reply_to_message_id = 1 + Math.floor(random() * (id - 1));
    await write(`  ${JSON.stringify(item)}${i + 1 < options.count ? ',' : ''}\n`);
  }
  await write(' ]\n}\n');
  out.end();
  await once(out, 'finish');
}

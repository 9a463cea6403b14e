import { mkdir, readdir, readFile, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ChatcastError } from '../core/errors.js';
import { TEMP_FILE, writeFiles } from './files.js';

// A workspace processes one day at a time. Every step of a day takes the lease for that day (pull
// first); while a step runs, the lease names its process and the process keeps it fresh (a heartbeat);
// a step that succeeds parks it for the day's next step, one that fails frees it, and push frees it.
// Steps of another day meanwhile fail with a retryable error instead of interleaving with this one
// (two runs writing the series at once would lose a day).
export interface Lease {
  day: string;
  since: string; // when the lease was taken or last parked
  holder?: { host: string; pid: number }; // the process running a step of the day now
  failed?: boolean; // a step of the day failed: its retry may go on, and any other day may take over
}

const DIR = '.chatcast';
const LEASE = join(DIR, 'lease.json');
// The short critical section every change of the lease runs in (an atomic mkdir).
const MUTEX = join(DIR, 'lease.lock');
// A parked lease older than this belongs to a run that died between steps; the next run may take it over.
const DEFAULT_TTL_MINUTES = 180;
// A running holder touches the lease this often; one silent for STALE_MS has died (kill -9, OOM, lost host).
const BEAT_MS = 5_000;
const STALE_MS = 30_000;

function ttlMs(): number {
  const minutes = Number(process.env.CHATCAST_LEASE_TTL_MINUTES ?? DEFAULT_TTL_MINUTES);
  return (Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_TTL_MINUTES) * 60_000;
}

const me = () => ({ host: hostname(), pid: process.pid });
const isMe = (lease: Lease) => lease.holder?.host === hostname() && lease.holder.pid === process.pid;

// The lease this process holds, so the CLI can park or free it when the command ends.
let held: { dir: string; day: string; beat: NodeJS.Timeout } | undefined;

async function read(dir: string): Promise<{ lease: Lease; beatMs: number } | undefined> {
  const file = join(dir, LEASE);
  let text: string;
  let beatMs: number;
  try {
    [text, beatMs] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return undefined;
  }
  try {
    const lease = JSON.parse(text) as Lease;
    if (typeof lease?.day === 'string' && typeof lease.since === 'string') return { lease, beatMs };
  } catch {
    // an unreadable lease is no one's: taken over below
  }
  return { lease: { day: '(unreadable lease)', since: new Date(0).toISOString() }, beatMs: 0 };
}

// The current lease of a workspace, if any.
export async function readLease(dir: string): Promise<Lease | undefined> {
  return (await read(dir))?.lease;
}

// Why a lease no longer binds anyone, or undefined while it does.
function staleReason({ lease, beatMs }: { lease: Lease; beatMs: number }, nowMs: number): string | undefined {
  if (lease.holder) {
    if (lease.holder.host === hostname() && lease.holder.pid !== process.pid && !alive(lease.holder.pid)) return `its process ${lease.holder.pid} is gone`;
    if (Date.now() - beatMs > STALE_MS) return `its process ${lease.holder.pid} on ${lease.holder.host} stopped answering`;
    return undefined;
  }
  if (lease.failed) return 'a step of that day failed';
  return nowMs - Date.parse(lease.since) >= ttlMs() ? 'it was parked too long ago' : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(lease: Lease, day: string): ChatcastError {
  const who = lease.holder ? `, process ${lease.holder.pid} on ${lease.holder.host}` : '';
  return new ChatcastError(
    'EXTERNAL',
    `Workspace is busy with day ${lease.day} (since ${lease.since}${who}), so ${day} waits: retry when that run has pushed, or delete ${LEASE} if no run is active`,
  );
}

// Runs `fn` while holding the workspace's lease mutex (mkdir is atomic); a mutex left by a process that
// died inside it is broken after a few seconds.
async function withMutex<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(join(dir, DIR), { recursive: true });
  const mutex = join(dir, MUTEX);
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(mutex);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ChatcastError('EXTERNAL', `Cannot lock ${MUTEX}: ${(error as Error).message}`, { cause: error });
      const age = await stat(mutex).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 5_000) await rmdir(mutex).catch(() => undefined);
      else if (attempt > 500) throw new ChatcastError('EXTERNAL', `Cannot lock ${MUTEX}: another chatcast process holds it; retry`);
      else await new Promise((r) => setTimeout(r, 5 + Math.random() * 15));
    }
  }
  try {
    // Inside the mutex no lease write is under way: what a killed one left is garbage.
    for (const name of await readdir(join(dir, DIR))) if (TEMP_FILE.test(name)) await rm(join(dir, DIR, name), { force: true });
    return await fn();
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}

function hold(dir: string, day: string): void {
  if (held && held.dir === dir && held.day === day) return;
  stopBeat();
  const file = join(dir, LEASE);
  const beat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, BEAT_MS);
  beat.unref();
  held = { dir, day, beat };
}

function stopBeat(): void {
  if (held) clearInterval(held.beat);
  held = undefined;
}

// Takes the lease for `day` for this process: a free lease, one parked for the same day, or a stale one is
// taken; a live holder (of any day) or a fresh lease of another day makes the call fail retryably.
export async function acquireLease(dir: string, day: string, nowMs: number): Promise<void> {
  await withMutex(dir, async () => {
    const current = await read(dir);
    if (current && !isMe(current.lease)) {
      const stale = staleReason(current, nowMs);
      if (!stale && (current.lease.holder || current.lease.day !== day)) throw busy(current.lease, day);
    }
    const lease: Lease = { day, since: new Date(nowMs).toISOString(), holder: me() };
    await writeFiles([{ path: join(dir, LEASE), data: JSON.stringify(lease) + '\n' }]);
  });
  hold(dir, day);
}

// A step of `day` joins the lease its run took (pull): it holds it while it runs. Without a lease (a step
// run by hand) it runs as before; a live lease of another day makes it fail retryably.
export async function adoptLease(dir: string, day: string, nowMs: number): Promise<void> {
  const adopted = await withMutex(dir, async () => {
    const current = await read(dir);
    if (!current || isMe(current.lease)) return Boolean(current);
    const stale = staleReason(current, nowMs);
    if (current.lease.day !== day) {
      if (stale) return false;
      throw busy(current.lease, day);
    }
    if (current.lease.holder && !stale) throw busy(current.lease, day);
    await writeFiles([{ path: join(dir, LEASE), data: JSON.stringify({ day, since: new Date(nowMs).toISOString(), holder: me() } satisfies Lease) + '\n' }]);
    return true;
  });
  if (adopted) hold(dir, day);
}

// Gives the lease back (push, the end of `run` and `track`). Only the day that holds it frees it.
export async function releaseLease(dir: string, day: string): Promise<void> {
  await withMutex(dir, async () => {
    const current = await read(dir);
    if (current?.lease.day === day && (!current.lease.holder || isMe(current.lease))) await rm(join(dir, LEASE), { force: true });
  });
  if (held?.dir === dir && held.day === day) stopBeat();
}

// Ends this process's hold when its command ends: a success parks the lease for the day's next step
// (Airflow runs each step in its own container); a failure marks it failed, so the retry of that step
// carries on with it while another day is not kept waiting for hours.
export async function settleLease(succeeded: boolean, nowMs: number): Promise<void> {
  if (!held) return;
  const { dir, day } = held;
  stopBeat();
  await withMutex(dir, async () => {
    const current = await read(dir);
    if (!current || current.lease.day !== day || !isMe(current.lease)) return;
    const lease: Lease = { day, since: new Date(nowMs).toISOString(), ...(succeeded ? {} : { failed: true }) };
    await writeFiles([{ path: join(dir, LEASE), data: JSON.stringify(lease) + '\n' }]);
  }).catch(() => undefined);
}

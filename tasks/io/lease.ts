import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChatcastError } from '../core/errors.js';

// A workspace processes one day at a time: `pull` takes the lease for its day, `push` gives it back.
// Steps of another day meanwhile fail with a retryable error instead of interleaving with this one
// (two runs writing the series at once would lose a day).
export interface Lease {
  day: string;
  since: string;
}

const LEASE = join('.chatcast', 'lease.json');
// A lease older than this belongs to a run that died; the next run may take it over.
const DEFAULT_TTL_MINUTES = 180;

function ttlMs(): number {
  const minutes = Number(process.env.CHATCAST_LEASE_TTL_MINUTES ?? DEFAULT_TTL_MINUTES);
  return (Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_TTL_MINUTES) * 60_000;
}

// The current lease of a workspace, if any.
export async function readLease(dir: string): Promise<Lease | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, LEASE), 'utf8')) as Lease;
  } catch {
    return undefined;
  }
}

function busy(lease: Lease, day: string): ChatcastError {
  return new ChatcastError(
    'EXTERNAL',
    `Workspace is busy with day ${lease.day} (since ${lease.since}), so ${day} waits: retry when that run has pushed, or delete ${LEASE} if no run is active`,
  );
}

// Fails (retryably) when a fresh lease belongs to another day.
export async function checkLease(dir: string, day: string, nowMs: number): Promise<void> {
  const lease = await readLease(dir);
  if (lease && lease.day !== day && nowMs - Date.parse(lease.since) < ttlMs()) throw busy(lease, day);
}

// Takes the lease for `day` (pull); a stale lease or one for the same day is taken over.
export async function acquireLease(dir: string, day: string, nowMs: number): Promise<void> {
  await checkLease(dir, day, nowMs);
  await mkdir(join(dir, '.chatcast'), { recursive: true });
  const lease: Lease = { day, since: new Date(nowMs).toISOString() };
  const current = await readLease(dir);
  if (current) await rm(join(dir, LEASE), { force: true });
  try {
    const handle = await open(join(dir, LEASE), 'wx');
    await handle.writeFile(JSON.stringify(lease) + '\n');
    await handle.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readLease(dir);
    if (winner && winner.day !== day) throw busy(winner, day);
  }
}

// Gives the lease back after `day` was pushed.
export async function releaseLease(dir: string, day: string): Promise<void> {
  const lease = await readLease(dir);
  if (lease?.day === day) await rm(join(dir, LEASE), { force: true });
}

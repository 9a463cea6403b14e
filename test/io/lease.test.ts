import { spawn } from 'node:child_process';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { acquireLease, adoptLease, readLease, releaseLease, settleLease } from '../../tasks/io/lease.js';
import { chatcast, ROOT, snapshot, tempDir } from '../helpers.js';

const t0 = Date.parse('2024-04-01T00:10:00Z');
const minutes = (n: number) => t0 + n * 60_000;

// Writes a lease as another process (or a parked run) would have left it.
async function leave(dir: string, lease: object, beatAgoMs = 0) {
  await mkdir(join(dir, '.chatcast'), { recursive: true });
  const file = join(dir, '.chatcast', 'lease.json');
  await writeFile(file, JSON.stringify(lease) + '\n');
  const at = new Date(Date.now() - beatAgoMs);
  await utimes(file, at, at);
}

describe('one day at a time per workspace', () => {
  it('parks the lease for the next step of the day, makes other days wait, and frees the workspace on push', async () => {
    const dir = await tempDir();
    await acquireLease(dir, '2024-03-30', t0);
    expect(await readLease(dir)).toEqual({ day: '2024-03-30', since: new Date(t0).toISOString(), holder: { host: hostname(), pid: process.pid } });
    await settleLease(true, minutes(1)); // the step ended: parked for the day's next step
    expect(await readLease(dir)).toEqual({ day: '2024-03-30', since: new Date(minutes(1)).toISOString() });
    await expect(acquireLease(dir, '2024-03-31', minutes(5))).rejects.toMatchObject({
      code: 'EXTERNAL',
      exitCode: 7,
      message: expect.stringContaining('Workspace is busy with day 2024-03-30 (since 2024-04-01T00:11:00.000Z), so 2024-03-31 waits'),
    });
    await adoptLease(dir, '2024-03-30', minutes(6)); // the next step of the day joins it
    expect((await readLease(dir))?.holder?.pid).toBe(process.pid);
    await releaseLease(dir, '2024-03-31'); // only the holder's day releases
    expect((await readLease(dir))?.day).toBe('2024-03-30');
    await releaseLease(dir, '2024-03-30');
    expect(await readLease(dir)).toBeUndefined();
    await acquireLease(dir, '2024-03-31', minutes(7));
    expect((await readLease(dir))?.day).toBe('2024-03-31');
    await releaseLease(dir, '2024-03-31');
  });

  it('lets a new run take over a lease parked by a run that died hours ago', async () => {
    const dir = await tempDir();
    await leave(dir, { day: '2024-03-30', since: new Date(t0).toISOString() });
    await expect(acquireLease(dir, '2024-03-31', minutes(179))).rejects.toMatchObject({ exitCode: 7 });
    await acquireLease(dir, '2024-03-31', minutes(181));
    expect((await readLease(dir))?.day).toBe('2024-03-31');
    await releaseLease(dir, '2024-03-31');
  });

  it('takes over at once the lease of a process that died: on this host by its pid, elsewhere by its silent heartbeat', async () => {
    const dir = await tempDir();
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.on('exit', resolve));
    await leave(dir, { day: '2024-03-30', since: new Date(t0).toISOString(), holder: { host: hostname(), pid: gone.pid } });
    await acquireLease(dir, '2024-03-31', t0);
    expect((await readLease(dir))?.day).toBe('2024-03-31');
    await releaseLease(dir, '2024-03-31');

    // Another container's process: alive while it beats, dead 30 s after its last beat.
    const holder = { host: 'another-container', pid: 1 };
    await leave(dir, { day: '2024-03-30', since: new Date(t0).toISOString(), holder }, 5_000);
    await expect(acquireLease(dir, '2024-03-30', t0)).rejects.toThrow('process 1 on another-container');
    await leave(dir, { day: '2024-03-30', since: new Date(t0).toISOString(), holder }, 31_000);
    await acquireLease(dir, '2024-03-31', t0);
    expect((await readLease(dir))?.day).toBe('2024-03-31');
    await releaseLease(dir, '2024-03-31');
  });

  it('gives exactly one of two processes the lease when both take it at the same instant', async () => {
    const root = await tempDir();
    const trials = 60;
    const start = Date.now() + 1_500; // both contenders are up by then
    const contender = (day: string) =>
      execa('node', [join(ROOT, 'test', 'support', 'lease-race.mjs'), join(ROOT, 'dist', 'io', 'lease.js'), root, String(trials), String(start), '40', day]);
    const [a, b] = await Promise.all([contender('2024-03-30'), contender('2024-03-31')]);
    const won = [JSON.parse(a.stdout) as string[], JSON.parse(b.stdout) as string[]];
    for (let i = 0; i < trials; i++) {
      expect([won[0][i], won[1][i]].sort(), `trial ${i}`).toEqual(['busy', 'won']);
    }
  }, 30_000);

  it('stops a step of another day from the CLI with a retryable exit code, writing nothing', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await chatcast(['pull', '--date', '2024-03-30', '--workspace', ws])).exitCode).toBe(0);
    const before = await snapshot(ws);
    const other = await chatcast(['ingest', '--date', '2024-03-31', '--workspace', ws]);
    expect(other.exitCode).toBe(7);
    expect(other.stderr).toContain('Workspace is busy with day 2024-03-30');
    expect(await snapshot(ws)).toEqual(before);
    expect((await chatcast(['ingest', '--date', '2024-03-30', '--workspace', ws])).exitCode).toBe(0);
    expect(await readLease(ws)).toMatchObject({ day: '2024-03-30' });
    expect((await readLease(ws))?.holder).toBeUndefined(); // parked for the day's next step
  });

  it('frees the workspace for other days when a step fails, and lets the failed step\'s retry go on', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await chatcast(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await chatcast(['pull', '--date', '2024-03-30', '--workspace', ws])).exitCode).toBe(0);
    const failed = await chatcast(['evaluate', '--date', '2024-03-30', '--workspace', ws]); // nothing ingested yet
    expect(failed.exitCode).toBe(6);
    expect(await readLease(ws)).toMatchObject({ day: '2024-03-30', failed: true });
    // The retry of that day's step carries on with the lease …
    expect((await chatcast(['ingest', '--date', '2024-03-30', '--workspace', ws])).exitCode).toBe(0);
    expect(await readLease(ws)).toEqual({ day: '2024-03-30', since: expect.any(String) });
    // … and after another failure, the next day is not kept waiting for hours.
    expect((await chatcast(['train', '--date', '2024-03-30', '--workspace', ws])).exitCode).toBe(6);
    const next = await chatcast(['pull', '--date', '2024-03-31', '--workspace', ws]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await readLease(ws)).toMatchObject({ day: '2024-03-31' });
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLease, checkLease, readLease, releaseLease } from '../../tasks/io/lease.js';
import { chatcast, snapshot, tempDir } from '../helpers.js';

const t0 = Date.parse('2024-04-01T00:10:00Z');
const minutes = (n: number) => t0 + n * 60_000;

describe('one day at a time per workspace', () => {
  it('lets the day that pulled work, makes other days wait, and frees the workspace on push', async () => {
    const dir = await tempDir();
    await acquireLease(dir, '2024-03-30', t0);
    await expect(checkLease(dir, '2024-03-30', minutes(5))).resolves.toBeUndefined();
    await expect(checkLease(dir, '2024-03-31', minutes(5))).rejects.toThrow(
      'Workspace is busy with day 2024-03-30 (since 2024-04-01T00:10:00.000Z), so 2024-03-31 waits',
    );
    await expect(acquireLease(dir, '2024-03-31', minutes(5))).rejects.toMatchObject({ code: 'EXTERNAL', exitCode: 7 });
    await acquireLease(dir, '2024-03-30', minutes(6)); // a rerun of the same day takes it over
    await releaseLease(dir, '2024-03-31'); // only the holder releases
    expect((await readLease(dir))?.day).toBe('2024-03-30');
    await releaseLease(dir, '2024-03-30');
    await acquireLease(dir, '2024-03-31', minutes(7));
    expect((await readLease(dir))?.day).toBe('2024-03-31');
  });

  it('lets a new run take over a lease left by a run that died hours ago', async () => {
    const dir = await tempDir();
    await acquireLease(dir, '2024-03-30', t0);
    await acquireLease(dir, '2024-03-31', minutes(181));
    expect(await readLease(dir)).toEqual({ day: '2024-03-31', since: new Date(minutes(181)).toISOString() });
  });

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
  });
});

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { chatcast, tempDir } from '../helpers.js';

describe('chatcast demo', () => {
  it('simulates history in a fresh workspace, runs the last days one at a time and says where the results are', async () => {
    const ws = join(await tempDir(), 'demo');
    const result = await chatcast(['demo', '--days', '12', '--runs', '2', '--workspace', ws]);
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(summary.msg).toBe('demo finished');
    expect(summary.scores).toHaveLength(2);
    expect(summary.scores[1].smape).toBeGreaterThanOrEqual(0);
    expect(result.stderr).toContain(`Demo workspace: ${ws}`);
    expect(existsSync(join(summary.charts, 'actual.png'))).toBe(true);
    expect(existsSync(join(summary.charts, 'forecast.png'))).toBe(true);
    expect(await readFile(join(summary.outbox, 'caption.txt'), 'utf8')).toMatch(/^📊 Учебный чат — \d{4}-\d{2}-\d{2} \(Europe\/Berlin\)/);
    expect(JSON.parse(await readFile(summary.metrics, 'utf8')).status).toBe('scored');
    // The demo tracks with `local` only: its history page, and a ledger with no other tracker.
    expect(await readFile(summary.tracked, 'utf8')).toContain('<svg');
    expect(Object.keys(JSON.parse(await readFile(join(ws, 'track', 'ledger.json'), 'utf8')).trackers)).toEqual(['local']);
    // `dvc plots show` in the demo workspace draws the tracked history: one point per daily run.
    const plots = JSON.parse((await execa(dvcBinary(), ['plots', 'show', '--json'], { cwd: ws })).stdout).data;
    for (const id of ['Scores by day', 'Messages per day, actual and forecast', 'Against the naive forecast (same hour yesterday)']) {
      const days = new Set((plots[id][0].content.data.values as { day: string }[]).map((v) => v.day));
      expect(days.size, id).toBe(2);
    }
  });
});

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { simulateDay } from '../../tasks/core/simulate.js';
import { emptySeries, formatSeries, hourlyCounts, upsertDays } from '../../tasks/core/series.js';
import { chatcast, SEED_CHAT, tempDir } from '../helpers.js';

const seed = join(SEED_CHAT, 'hourly_counts.tsv');

describe('chatcast backtest', () => {
  it('prints one JSON object with every score of every model', async () => {
    const days = daysFrom('2024-01-01', '2024-02-20');
    const file = join(await tempDir(), 'hourly.tsv');
    await writeFile(file, formatSeries(upsertDays(emptySeries(), days.map((d) => hourlyCounts(simulateDay(d, 'UTC'), d, 'UTC')), days)));
    const run = await chatcast(['backtest', '--series', file, '--days', '20', '--model', 'zeros', '--model', 'median_7d', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.days).toBe(20);
    expect(Object.keys(result.models)).toEqual(['zeros', 'median_7d']);
    expect(Object.keys(result.models.zeros).sort()).toEqual(['coverage80', 'mae', 'mase', 'pinball', 'rmse', 'seconds', 'smape']);
    expect(result.backend).toMatch(/^(wasm|cpu|tensorflow)$/);
  });

  it('refuses an unknown model and a series with too few days', async () => {
    const bad = await chatcast(['backtest', '--series', seed, '--model', 'prophet']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('Invalid --model "prophet": expected one of seed, default, zeros, naive_day, naive_week, median_7d, mean_14d');
  });

  it.skipIf(!existsSync(seed))(`reproduces the original model's scores and beats every baseline on the real chat (needs ${seed})`, async () => {
    const run = await chatcast(['backtest', '--series', seed, '--days', '300', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const { models } = JSON.parse(run.stdout);
    // The original investigation's figures for the original model and the zeros baseline.
    expect([models.seed.smape, models.seed.mae, models.seed.rmse].map((v: number) => +v.toFixed(2))).toEqual([0.74, 2.77, 5.98]);
    expect([models.zeros.smape, models.zeros.mae, models.zeros.rmse].map((v: number) => +v.toFixed(2))).toEqual([0.56, 1.98, 4.67]);
    for (const baseline of ['zeros', 'naive_day', 'naive_week', 'median_7d', 'mean_14d']) {
      expect(models.default.smape, baseline).toBeLessThan(models[baseline].smape);
      expect(models.default.mae, baseline).toBeLessThan(models[baseline].mae);
      expect(models.default.rmse, baseline).toBeLessThan(models[baseline].rmse);
    }
    expect(models.default.coverage80).toBeGreaterThanOrEqual(0.75);
    expect(models.default.coverage80).toBeLessThanOrEqual(0.85);
  });
});

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
    expect(Object.keys(result.models.zeros).sort()).toEqual(['calibration', 'coverage80', 'mae', 'mase', 'pinball', 'rmse', 'rmse_pooled', 'seconds', 'smape']);
    expect(Object.keys(result.models.median_7d.calibration)).toEqual(['0.1', '0.5', '0.9']);
    expect(result.origins).toEqual(days.slice(-20));
    expect(result.backend).toMatch(/^(wasm|cpu|tensorflow)$/);
  });

  it('refuses an unknown model and a series with too few days', async () => {
    const days = daysFrom('2024-01-01', '2024-01-20');
    const file = join(await tempDir(), 'hourly.tsv');
    await writeFile(file, formatSeries(upsertDays(emptySeries(), days.map((d) => hourlyCounts(simulateDay(d, 'UTC'), d, 'UTC')), days)));
    const bad = await chatcast(['backtest', '--series', file, '--model', 'prophet']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('Invalid --model "prophet": expected one of seed, default, zeros, naive_day, naive_week, median_7d, mean_14d, knn_168h_50,');
    const short = await chatcast(['backtest', '--series', file, '--days', '50']);
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toContain('Invalid --days 50: the series has only 19 complete days after its first');
  });

  it.skipIf(!existsSync(seed))(`reproduces the original model's scores; the per-chat choice beats every baseline and is calibrated on the real chat (needs ${seed})`, async () => {
    const run = await chatcast(['backtest', '--series', seed, '--days', '300', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const { models } = JSON.parse(run.stdout);
    // The original investigation's figures for the original model and the zeros baseline.
    expect([models.seed.smape, models.seed.mae, models.seed.rmse].map((v: number) => +v.toFixed(2))).toEqual([0.74, 2.77, 5.98]);
    expect([models.zeros.smape, models.zeros.mae, models.zeros.rmse].map((v: number) => +v.toFixed(2))).toEqual([0.56, 1.98, 4.67]);
    for (const baseline of ['zeros', 'naive_day', 'naive_week', 'median_7d', 'mean_14d']) {
      for (const score of ['smape', 'mae', 'rmse', 'pinball']) expect(models.default[score], `${score} vs ${baseline}`).toBeLessThan(models[baseline][score]);
    }
    for (const [tau, [below, atOrBelow]] of Object.entries(models.default.calibration as Record<string, [number, number]>)) {
      expect(below, `share below q${tau}`).toBeLessThanOrEqual(Number(tau) + 0.03);
      expect(atOrBelow, `share at or below q${tau}`).toBeGreaterThanOrEqual(Number(tau) - 0.03);
    }
  });
});

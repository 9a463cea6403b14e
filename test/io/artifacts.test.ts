import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readForecast, writeForecast } from '../../tasks/io/artifacts.js';
import { defaultParams } from '../../tasks/core/params.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';
import type { Workspace } from '../../tasks/io/workspace.js';
import { tempDir } from '../helpers.js';

async function workspace(): Promise<Workspace> {
  const dir = await tempDir();
  return { dir, params: defaultParams(), path: (...parts) => join(dir, ...parts) };
}

const doc: ForecastDoc = {
  day: '2024-04-01',
  made_on: '2024-03-31',
  timezone: 'UTC',
  method: 'knn_direct',
  model: { name: 'knn_168h_50', spec: { model: 'knn_direct', k: 50, window: 168, transform: 'log1p' } },
  params: { model: 'auto', select_days: 56, pool: 3 },
  data: { through: '2024-03-31', hours: 48, sha256: 'abc' },
  levels: [0.1, 0.5, 0.9],
  total: 2,
  total_range: [0, 5],
  peak: { local: '00:00', mean: 2 },
  hours: [{ start: '2024-04-01T00:00:00Z', local: '00:00', offset: '+00:00', point: 1, median: 1, mean: 2, lo: 0, hi: 4, p0: 0.3, quantiles: [0, 1, 4] }],
};

describe('forecast files', () => {
  it('are written and read through one schema', async () => {
    const ws = await workspace();
    await writeForecast(ws, doc);
    expect(await readForecast(ws, '2024-04-01')).toEqual(doc);
    expect(await readForecast(ws, '2024-04-02')).toBeUndefined();
  });

  it('of the version before (median, mean and band) are read with the median as their point', async () => {
    const ws = await workspace();
    const { model: _model, levels: _levels, total_range: _range, hours, ...rest } = doc;
    const legacy = { ...rest, params: { model: 'knn_direct', k: 91, window: 72, transform: 'log1p', band: [0.1, 0.8] }, hours: hours.map(({ point: _p, p0: _p0, quantiles: _q, ...h }) => h) };
    await mkdir(ws.path('forecast'), { recursive: true });
    await writeFile(ws.path('forecast', '2024-04-01.json'), JSON.stringify(legacy));
    const read = (await readForecast(ws, '2024-04-01'))!;
    expect(read.hours[0]).toMatchObject({ point: 1, median: 1, mean: 2, p0: null, quantiles: [] });
    expect(read.total_range).toBeNull();
    expect(read.model.name).toBe('knn_direct');
  });

  it('that break the schema are refused with the field and the step to rerun', async () => {
    const ws = await workspace();
    await mkdir(ws.path('forecast'), { recursive: true });
    await writeFile(ws.path('forecast', '2024-04-01.json'), JSON.stringify({ ...doc, hours: [{ ...doc.hours[0], mean: 'many' }] }));
    await expect(readForecast(ws, '2024-04-01')).rejects.toThrow(/Invalid forecast\/2024-04-01\.json: hours\.0\.mean: .*: rerun "chatcast forecast" for the day before 2024-04-01/);
  });
});

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cursorFile, keepLedger, metricsFile, readCursor, readForecast, readLedger, readLockStages, readMetrics, writeForecast, writeLedger } from '../../tasks/io/artifacts.js';
import { writeFiles } from '../../tasks/io/files.js';
import type { Evaluation } from '../../tasks/core/evaluation.js';
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

  it('that are not an object are refused with the rule, not a TypeError', async () => {
    const ws = await workspace();
    await mkdir(ws.path('forecast'), { recursive: true });
    await writeFile(ws.path('forecast', '2024-04-01.json'), 'null');
    await expect(readForecast(ws, '2024-04-01')).rejects.toThrow(/Invalid forecast\/2024-04-01\.json: \(root\): .*object/);
  });
});

describe('the report ledger', () => {
  const sent = { chat: '@c', message_ids: [7, 8], sent_at: '2024-04-01T06:00:00.000Z' };

  it('is written sorted, with `pending` only when a post was begun and not recorded', async () => {
    const ws = await workspace();
    expect(await readLedger(ws)).toEqual({ days: {} });
    await writeLedger(ws, { days: { '2024-04-02': sent, '2024-04-01': sent } });
    const text = await readFile(ws.path('report', 'ledger.json'), 'utf8');
    expect(text).not.toContain('pending');
    expect(Object.keys(JSON.parse(text).days)).toEqual(['2024-04-01', '2024-04-02']);
    const begun = { days: { '2024-04-01': sent }, pending: { '2024-04-02': { chat: '@c', since: '2024-04-02T06:00:00.000Z' } } };
    await writeLedger(ws, begun);
    expect(await readLedger(ws)).toEqual(begun);
  });

  it('keeps, through a pull, the posts and the begun posts the pulled copy lacks; a recorded post settles a begun one', async () => {
    const ws = await workspace();
    const before = { days: { '2024-04-01': sent }, pending: { '2024-04-02': { chat: '@c', since: '2024-04-02T06:00:00.000Z' }, '2024-04-03': { chat: '@c', since: '2024-04-03T06:00:00.000Z' } } };
    await writeLedger(ws, { days: { '2024-04-03': sent } }); // what the pull brought
    await keepLedger(ws, before);
    expect(await readLedger(ws)).toEqual({ days: { '2024-04-01': sent, '2024-04-03': sent }, pending: { '2024-04-02': before.pending['2024-04-02'] } });
  });

  it('that breaks its schema is refused naming the field', async () => {
    const ws = await workspace();
    await writeFiles([{ path: ws.path('report', 'ledger.json'), data: JSON.stringify({ days: { '2024-04-01': { ...sent, message_ids: [] } } }) }]);
    await expect(readLedger(ws)).rejects.toThrow(/Invalid report\/ledger\.json: days\.2024-04-01\.message_ids: .*: fix it by hand/);
  });
});

describe('the ingest cursor and the metrics', () => {
  it('round-trip through one schema, and a bad one is refused', async () => {
    const ws = await workspace();
    expect(await readCursor(ws)).toBeUndefined();
    const cursor = { chat_id: '-100123', chat_title: 'Chat', last_id: null, last_day: '2024-04-01' };
    await writeFiles([cursorFile(ws, cursor)]);
    expect(await readCursor(ws)).toEqual(cursor);
    expect(() => cursorFile(ws, { ...cursor, last_id: 1.5 })).toThrow();
    await writeFiles([{ path: ws.path('ingest', 'cursor.json'), data: '{"chat_id": "-100123"' }]);
    await expect(readCursor(ws)).rejects.toThrow(/Invalid ingest\/cursor\.json: not JSON \(.+\): restore it with "chatcast pull"/);
  });

  it('metrics are read for their own day only', async () => {
    const ws = await workspace();
    const evaluation: Evaluation = { day: '2024-04-01', status: 'skipped', reason: 'no forecast was made for 2024-04-01', smape: null, mae: null, rmse: null, mase: null, pinball: null, coverage80: null, actual_total: 5, forecast_total: null, naive_smape: null, naive_mae: null, naive_rmse: null };
    await expect(readMetrics(ws, '2024-04-01')).rejects.toThrow(/Missing metrics .*: run "chatcast evaluate --date 2024-04-01" first/);
    await writeFiles([metricsFile(ws, evaluation)]);
    expect(await readMetrics(ws, '2024-04-01')).toEqual(evaluation);
    await expect(readMetrics(ws, '2024-04-02')).rejects.toThrow('evaluate/metrics.json holds 2024-04-01, not 2024-04-02: run "chatcast evaluate --date 2024-04-02" first');
    await writeFiles([{ path: ws.path('evaluate', 'metrics.json'), data: JSON.stringify({ ...evaluation, smape: 'low' }) }]);
    await expect(readMetrics(ws, '2024-04-01')).rejects.toThrow(/Invalid evaluate\/metrics\.json: smape: .*: rerun "chatcast evaluate --date 2024-04-01"/);
  });
});

describe('dvc.lock', () => {
  it("gives its stages' outputs, and a broken one is refused naming it", () => {
    const lock = 'schema: \'2.0\'\nstages:\n  aggregate:\n    cmd: chatcast aggregate\n    outs:\n    - path: aggregate\n      md5: abc.dir\n      size: 1\n';
    expect(readLockStages(lock)).toEqual({ aggregate: { outs: [{ path: 'aggregate', md5: 'abc.dir' }] } });
    expect(readLockStages('')).toEqual({});
    expect(() => readLockStages('stages: [\n', 'dvc.lock of 2024-04-01')).toThrow(/Invalid dvc\.lock of 2024-04-01: not YAML \(.+\): it is DVC's record of the pushed data/);
    expect(() => readLockStages('stages:\n  aggregate:\n    outs: [{md5: x}]\n')).toThrow(/Invalid dvc\.lock: stages\.aggregate\.outs\.0\.path: /);
  });
});

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cursorFile, keepLedger, LEGACY_SERIES, metricsFile, readCursor, readForecast, readLedger, readLockStages, readMetrics, readSeries, readSeriesText, writeForecast, writeLedger, writeSeries } from '../../tasks/io/artifacts.js';
import { emptySeries, formatSeries, hourlyCounts, upsertDays } from '../../tasks/core/series.js';
import { daysFrom } from '../../tasks/core/dates.js';
import { writeFiles } from '../../tasks/io/files.js';
import type { Evaluation } from '../../tasks/core/evaluation.js';
import { defaultParams } from '../../tasks/core/params.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';
import type { Workspace } from '../../tasks/io/workspace.js';
import { tempDir } from '../helpers.js';
import { dayPath } from '../../tasks/core/pipeline.js';

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
    await mkdir(ws.path('forecast', '2024-04'), { recursive: true });
    await writeFile(ws.path(dayPath('forecast', '2024-04-01', '.json')), JSON.stringify(legacy));
    const read = (await readForecast(ws, '2024-04-01'))!;
    expect(read.hours[0]).toMatchObject({ point: 1, median: 1, mean: 2, p0: null, quantiles: [] });
    expect(read.total_range).toBeNull();
    expect(read.model.name).toBe('knn_direct');
  });

  it('that break the schema are refused with the field and the step to rerun', async () => {
    const ws = await workspace();
    await mkdir(ws.path('forecast', '2024-04'), { recursive: true });
    await writeFile(ws.path(dayPath('forecast', '2024-04-01', '.json')), JSON.stringify({ ...doc, hours: [{ ...doc.hours[0], mean: 'many' }] }));
    await expect(readForecast(ws, '2024-04-01')).rejects.toThrow(/Invalid forecast\/2024-04\/2024-04-01\.json: hours\.0\.mean: .*: rerun "chatcast forecast" for the day before 2024-04-01/);
  });

  it('that are not an object are refused with the rule, not a TypeError', async () => {
    const ws = await workspace();
    await mkdir(ws.path('forecast', '2024-04'), { recursive: true });
    await writeFile(ws.path(dayPath('forecast', '2024-04-01', '.json')), 'null');
    await expect(readForecast(ws, '2024-04-01')).rejects.toThrow(/Invalid forecast\/2024-04\/2024-04-01\.json: \(root\): .*object/);
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

describe('the hourly series, one file per month', () => {
  // Five days around a month's end in Berlin, with one message at the first hour of each day.
  const days = daysFrom('2024-03-29', '2024-04-02');
  const series = upsertDays(
    emptySeries(),
    days.map((d, i) => hourlyCounts(Array.from({ length: i }, (_, n) => ({ id: n, at: `${d}T08:00:00Z`, sender: '1', kind: 'text', reply_to: null })), d, 'Europe/Berlin')),
    days,
  );

  it('splits by the chat day\'s month, joins back to the same series, and rewrites only the changed month', async () => {
    const ws = await workspace();
    expect(await readSeries(ws, undefined)).toSatisfy((t: { numRows(): number }) => t.numRows() === 0);
    await expect(readSeries(ws, '2024-04-02')).rejects.toThrow(/Missing hourly series "\S+aggregate\/hourly" \(no YYYY-MM\.tsv in it\): run "chatcast aggregate --date 2024-04-02" first/);
    expect((await writeSeries(ws, series)).map((f) => f.slice(ws.dir.length + 1))).toEqual(['aggregate/hourly/2024-03.tsv', 'aggregate/hourly/2024-04.tsv']);
    expect(await readdir(ws.path('aggregate', 'hourly'))).toEqual(['2024-03.tsv', '2024-04.tsv']);
    // 00:00 of 1 April in Berlin is 22:00 UTC on 31 March: the hour belongs to April's file.
    expect((await readFile(ws.path('aggregate', 'hourly', '2024-04.tsv'), 'utf8')).split('\n')[1]).toBe('2024-03-31T22:00:00Z\t2024-04-01\t00:00\t+02:00\t0');
    expect(formatSeries(await readSeries(ws, '2024-04-02'))).toBe(formatSeries(series));
    expect(await readSeriesText(ws.path('aggregate', 'hourly'))).toBe(formatSeries(series));
    const later = upsertDays(series, [hourlyCounts([], '2024-04-03', 'Europe/Berlin')], ['2024-04-03']);
    expect((await writeSeries(ws, later)).map((f) => f.slice(ws.dir.length + 1))).toEqual(['aggregate/hourly/2024-04.tsv']);
  });

  it('reads a workspace\'s older single file until the next write moves it into months', async () => {
    const ws = await workspace();
    await mkdir(ws.path('aggregate'), { recursive: true });
    await writeFile(ws.path(LEGACY_SERIES), formatSeries(series));
    expect(formatSeries(await readSeries(ws, '2024-04-02'))).toBe(formatSeries(series));
    const written = await writeSeries(ws, await readSeries(ws, '2024-04-02'));
    expect(written.map((f) => f.slice(ws.dir.length + 1))).toEqual(['aggregate/hourly/2024-03.tsv', 'aggregate/hourly/2024-04.tsv', LEGACY_SERIES]);
    expect(existsSync(ws.path(LEGACY_SERIES))).toBe(false);
    expect(formatSeries(await readSeries(ws, '2024-04-02'))).toBe(formatSeries(series));
  });

  it('refuses a row filed under another month, naming the file, the line and the rule', async () => {
    const ws = await workspace();
    await writeSeries(ws, series);
    const march = ws.path('aggregate', 'hourly', '2024-03.tsv');
    await writeFile(march, (await readFile(march, 'utf8')) + '2024-04-03T22:00:00Z\t2024-04-04\t00:00\t+02:00\t0\n');
    await expect(readSeries(ws, '2024-04-02')).rejects.toThrow(/Invalid \S+2024-03\.tsv line 73: day "2024-04-04": expected a day of 2024-03, the file's month/);
  });
});

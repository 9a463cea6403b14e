import { describe, expect, it } from 'vitest';
import { dayHours } from '../../tasks/core/dates.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';
import { historyPage, parseTrackHistory, trackRow, upsertTrackHistory } from '../../tasks/core/trackpage.js';
import { daysToTrack, emptyTrackLedger, formatTrackLedger, mergeTrackLedgers, trackedDay, trackerLink, type HistoryRow, type TrackLedger } from '../../tasks/core/tracking.js';

const record = (id: string, at = '2024-04-01T00:10:00.000Z') => ({ id, url: `http://mlflow/#/experiments/1/runs/${id}`, experiment: '1', tracked_at: at });

function forecastFor(day: string, made: string, zone = 'Europe/Berlin'): ForecastDoc {
  const hours = dayHours(day, zone).map((h) => ({ start: h.start, local: h.local, offset: h.offset, point: 1, median: 1, mean: 1.5, lo: 0, hi: 3, p0: 0.3, quantiles: [] }));
  return {
    day,
    made_on: made,
    timezone: zone,
    method: 'pool',
    model: { name: 'pool(knn_direct_w168_k50,profile_56)', spec: { model: 'pool' } as never },
    choice: { chosen: 'pool', compared: { first: '2024-02-01', last: '2024-03-27', days: 56 }, scores: { knn_direct_w168_k50: 4.1, profile_56: 4.3, zeros: null } },
    params: { model: 'auto', select_days: 56, pool: 3 },
    data: { through: made, hours: 1000, sha256: 'ab'.repeat(32) },
    levels: [],
    total: 1.5 * hours.length,
    total_range: [20, 50],
    peak: { local: '12:00', mean: 1.5 },
    hours,
  };
}

const row: HistoryRow = {
  day: '2024-03-31',
  status: 'scored',
  smape: 0.5,
  mae: 1.2,
  rmse: 2,
  mase: null,
  pinball: 0.4,
  coverage80: 0.8,
  naive_smape: 0.7,
  naive_mae: 1.5,
  naive_rmse: 2.5,
  actual_total: 30,
  forecast_total: 34.5,
};

describe('what track sends for a day', () => {
  const actual = dayHours('2024-03-31', 'Europe/Berlin').map((h) => ({ start: h.start, day: '2024-03-31', local: h.local, offset: h.offset, messages: 1 }));
  const day = trackedDay({
    chat: 'berlin',
    title: 'Учебный чат',
    timezone: 'Europe/Berlin',
    experiment: 'chatcast',
    language: 'ru',
    firstDay: '2024-03-20',
    row,
    actual,
    forecast: forecastFor('2024-03-31', '2024-03-30'),
    next: forecastFor('2024-04-01', '2024-03-31'),
    files: [],
    version: { tag: '2024-03-31', commit: 'c0ffee', series_md5: 'aa.dir', model_md5: null },
  });

  it('steps are days since the chat began; the timestamp is the local midnight (the 23-hour spring day included)', () => {
    expect(day.step).toBe(11);
    expect(new Date(day.timestamp).toISOString()).toBe('2024-03-30T23:00:00.000Z');
    expect(day.experiment).toBe('chatcast/berlin');
  });

  it('metrics are the scores that exist, the totals and the choice; params are flat strings', () => {
    expect(day.metrics).toEqual({
      smape: 0.5, mae: 1.2, rmse: 2, pinball: 0.4, coverage80: 0.8, naive_smape: 0.7, naive_mae: 1.5, naive_rmse: 2.5,
      actual_total: 30, forecast_total: 34.5, next_total: 36, next_total_lo: 20, next_total_hi: 50,
      'choice.knn_direct_w168_k50': 4.1, 'choice.profile_56': 4.3,
    });
    expect(day.params).toMatchObject({ 'train.model': 'auto', 'train.select_days': '56', 'choice.chosen': 'pool', 'choice.compared': '2024-02-01..2024-03-27 (56 days)', 'model.name': 'pool(knn_direct_w168_k50,profile_56)' });
    expect(Object.values(day.params).every((v) => typeof v === 'string')).toBe(true);
    expect(day.tags).toMatchObject({ 'chatcast.day': '2024-03-31', 'chatcast.chat': 'berlin', 'chatcast.commit': 'c0ffee', 'chatcast.series_md5': 'aa.dir' });
    expect('chatcast.model_md5' in day.tags).toBe(false);
    expect(day.plots.map((p) => p.name)).toEqual(['actual', 'forecast']);
    expect(day.plots[0].figure.data.length).toBeGreaterThan(1);
  });

  it('the local history keeps one row per day and the page draws it without scripts or network', () => {
    const text = upsertTrackHistory(parseTrackHistory(upsertTrackHistory([], [trackRow(day)]), 'h'), [trackRow(day), { ...trackRow(day), day: '2024-03-30', smape: null }]);
    const rows = parseTrackHistory(text, 'track/history.tsv');
    expect(rows.map((r) => [r.day, r.smape])).toEqual([['2024-03-30', null], ['2024-03-31', 0.5]]);
    const html = historyPage({ title: 'A <chat>', chat: 'berlin', timezone: 'Europe/Berlin', rows, links: { '2024-03-31': [{ tracker: 'mlflow', url: 'http://m/#/r?a=1&b=2' }] } });
    expect(html).toContain('A &lt;chat&gt;');
    expect(html).toContain('href="http://m/#/r?a=1&amp;b=2"');
    expect(html.match(/<svg /g)).toHaveLength(6);
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
  });
});

describe('the track ledger', () => {
  const ledger: TrackLedger = {
    trackers: {
      mlflow: { days: { '2024-03-28': record('a'), '2024-03-29': record('b') }, pending: { '2024-03-30': { since: '2024-03-31T00:10:00Z', error: 'down' } } },
    },
  };

  it('sends the day, every pending day and every gap after the last sent day; a new tracker starts at the day', () => {
    const evaluated = ['2024-03-25', '2024-03-28', '2024-03-29', '2024-03-30', '2024-03-31', '2024-04-01'];
    expect(daysToTrack(ledger, 'mlflow', '2024-04-02', evaluated)).toEqual(['2024-03-30', '2024-03-31', '2024-04-01', '2024-04-02']);
    expect(daysToTrack(ledger, 'mlflow', '2024-03-29', evaluated)).toEqual(['2024-03-29']);
    expect(daysToTrack(ledger, 'clearml', '2024-04-02', evaluated)).toEqual(['2024-04-02']);
  });

  it('merging keeps every sent day, the newer record, and drops pending days another ledger has sent', () => {
    const other: TrackLedger = { trackers: { mlflow: { days: { '2024-03-30': record('c'), '2024-03-29': record('b2', '2024-04-02T00:00:00.000Z') }, pending: {} } } };
    const merged = mergeTrackLedgers(ledger, other);
    expect(merged.trackers.mlflow!.days).toEqual({ '2024-03-28': record('a'), '2024-03-29': record('b2', '2024-04-02T00:00:00.000Z'), '2024-03-30': record('c') });
    expect(merged.trackers.mlflow!.pending).toEqual({});
    expect(formatTrackLedger(mergeTrackLedgers(other, ledger))).toBe(formatTrackLedger(merged));
    expect(mergeTrackLedgers(emptyTrackLedger(), emptyTrackLedger())).toEqual(emptyTrackLedger());
  });

  it('the report links the first chosen tracker that has the day', () => {
    const both: TrackLedger = { trackers: { ...ledger.trackers, clearml: { days: { '2024-03-29': { id: 't', url: 'http://clearml/t', tracked_at: 'x' } }, pending: {} } } };
    expect(trackerLink(both, '2024-03-29', ['clearml', 'mlflow'])).toBe('http://clearml/t');
    expect(trackerLink(both, '2024-03-29', ['mlflow', 'clearml'])).toBe(record('b').url);
    expect(trackerLink(both, '2024-03-30', ['mlflow', 'clearml'])).toBeUndefined();
  });
});

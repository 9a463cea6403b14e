import { PATHS } from '../../core/pipeline.js';
import { historyPage, parseTrackHistory, trackRow, upsertTrackHistory, type TrackRow } from '../../core/trackpage.js';
import type { TrackLedger, Tracker, TrackedDay } from '../../core/tracking.js';
import { exists, readText, writeFiles } from '../files.js';
import type { Workspace } from '../workspace.js';

async function readRows(ws: Workspace): Promise<TrackRow[]> {
  const file = ws.path(PATHS.trackHistory);
  return (await exists(file)) ? parseTrackHistory(await readText(file, 'track history'), PATHS.trackHistory) : [];
}

// The tracker that needs nothing installed: each day becomes a row of track/history.tsv (drawn by
// `dvc plots show`) and track/metrics.json holds the newest day's numbers (`dvc metrics show`).
export function localTracker(ws: Workspace, now: () => number): Tracker {
  return {
    name: 'local',
    async track(day: TrackedDay) {
      const rows = await readRows(ws);
      const text = upsertTrackHistory(rows, [trackRow(day)]);
      const newest = parseTrackHistory(text, PATHS.trackHistory).at(-1)!;
      const metrics = Object.fromEntries(Object.entries(newest).filter(([, v]) => v !== null && v !== ''));
      await writeFiles([
        { path: ws.path(PATHS.trackHistory), data: text },
        { path: ws.path(PATHS.trackMetrics), data: JSON.stringify(metrics, null, 2) + '\n' },
      ]);
      return { id: day.day, url: '', tracked_at: new Date(now()).toISOString() };
    },
  };
}

// Rewrites track/index.html from the history and the ledger's links: the page a reader opens offline.
export async function writeTrackPage(ws: Workspace, chat: string, ledger: TrackLedger): Promise<string> {
  const links: Record<string, { tracker: string; url: string }[]> = {};
  for (const [tracker, entry] of Object.entries(ledger.trackers)) {
    for (const [day, record] of Object.entries(entry?.days ?? {})) {
      if (record.url) (links[day] ??= []).push({ tracker, url: record.url });
    }
  }
  const html = historyPage({ title: ws.params.chat.title, chat, timezone: ws.params.chat.timezone, rows: await readRows(ws), links });
  const file = ws.path(PATHS.trackPage);
  await writeFiles([{ path: file, data: html }]);
  return file;
}

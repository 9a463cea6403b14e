import { basename } from 'node:path';
import { addDays } from '../core/dates.js';
import { ChatcastError, isChatcastError } from '../core/errors.js';
import { parseHistory } from '../core/evaluation.js';
import { chosenTrackers } from '../core/params.js';
import { dayPath, PATHS } from '../core/pipeline.js';
import { dayRows } from '../core/series.js';
import type { ColumnTable } from 'arquero';
import { daysToTrack, trackedDay, type HistoryRow, type TrackedDay, type Tracker, type TrackerName } from '../core/tracking.js';
import { readForecast, readSeries, readTrackLedger, writeTrackLedger } from '../io/artifacts.js';
import { exists, readText } from '../io/files.js';
import { acquireLease, releaseLease } from '../io/lease.js';
import { scrub } from '../io/log.js';
import { clearmlTracker } from '../io/trackers/clearml.js';
import { localTracker, writeTrackPage } from '../io/trackers/local.js';
import { mlflowTracker } from '../io/trackers/mlflow.js';
import { dayVersion, pushState } from '../io/versioning.js';
import type { Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// The chat's id in tracker names and tags: params.yaml chat.id, else $CHATCAST_CHAT_ID (the chats.yaml
// id Airflow passes), else the workspace folder's name.
export function chatIdOf(ws: Workspace, env: NodeJS.ProcessEnv = process.env): string {
  const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return ws.params.chat.id || slug(env.CHATCAST_CHAT_ID ?? '') || slug(basename(ws.dir)) || 'chat';
}

function makeTracker(name: TrackerName, ws: Workspace, ctx: Context, env: NodeJS.ProcessEnv): Tracker {
  if (name === 'mlflow') return mlflowTracker(env, { now: ctx.now });
  if (name === 'clearml') return clearmlTracker(env, { now: ctx.now });
  return localTracker(ws, ctx.now);
}

// Builds what a tracker gets for a past or present day from the workspace alone; undefined (with the
// reason) when the day's artifacts are not there.
async function loadDay(ws: Workspace, env: NodeJS.ProcessEnv, day: string, rows: Map<string, HistoryRow>, firstDay: string, series: ColumnTable): Promise<TrackedDay | string> {
  const row = rows.get(day);
  if (!row) return `${PATHS.history} has no row for ${day}`;
  const next = await readForecast(ws, addDays(day, 1));
  if (!next) return `no forecast was made on ${day} (${dayPath(PATHS.forecasts, addDays(day, 1), '.json')})`;
  const files = [
    { name: 'actual.png', path: ws.path(dayPath(PATHS.charts, day), 'actual.png'), contentType: 'image/png' },
    { name: 'forecast.png', path: ws.path(dayPath(PATHS.charts, day), 'forecast.png'), contentType: 'image/png' },
    { name: `forecast-${next.day}.json`, path: ws.path(dayPath(PATHS.forecasts, next.day, '.json')), contentType: 'application/json' },
  ];
  for (const f of files) if (!(await exists(f.path))) return `"${f.path}" is missing`;
  return trackedDay({
    chat: chatIdOf(ws, env),
    title: ws.params.chat.title,
    timezone: ws.params.chat.timezone,
    experiment: ws.params.track.experiment,
    language: ws.params.render.language,
    firstDay,
    row,
    actual: dayRows(series, day),
    forecast: await readForecast(ws, day),
    next,
    files,
    version: await dayVersion(ws.dir, day),
  });
}

// Sends D, and every day a tracker has not got yet, to each chosen tracker; records the runs/tasks in
// track/ledger.json and versions it (its own push: nothing else waits on a tracker). A tracker that is
// down keeps its days pending and fails the step retryably (exit 7) after the others were served.
export async function track(ws: Workspace, day: string, ctx: Context, options: { env?: NodeJS.ProcessEnv; lease?: boolean; push?: boolean } = {}) {
  const env = options.env ?? process.env;
  const names = chosenTrackers(ws.params, env);
  const trackers = names.map((name) => makeTracker(name, ws, ctx, env)); // bad configuration stops here, before anything is sent
  const historyFile = ws.path(PATHS.history);
  const history = parseHistory(await readText(historyFile, 'metrics history', `run "chatcast evaluate --date ${day}" first`), historyFile);
  const rows = new Map((history.objects() as HistoryRow[]).map((r) => [r.day, r]));
  if (!rows.has(day)) throw new ChatcastError('STATE', `${PATHS.history} has no row for ${day}: run "chatcast evaluate --date ${day}" first`);
  const series = await readSeries(ws, day);
  const firstDay = String(series.get('day', 0));

  const lease = options.lease ?? true; // `run` holds the day's lease already
  if (lease) await acquireLease(ws.dir, day, ctx.now());
  const ledger = await readTrackLedger(ws);
  const loaded = new Map<string, TrackedDay | string>();
  const failures: { tracker: TrackerName; days: string[]; error: unknown }[] = [];
  const sent: Record<string, string[]> = {};
  for (const tracker of trackers) {
    const entry = (ledger.trackers[tracker.name] ??= { days: {}, pending: {} });
    const days = daysToTrack(ledger, tracker.name, day, [...rows.keys()]);
    for (const [i, d] of days.entries()) {
      if (!loaded.has(d)) loaded.set(d, await loadDay(ws, env, d, rows, firstDay, series));
      const data = loaded.get(d)!;
      if (typeof data === 'string') {
        if (d === day) throw new ChatcastError('STATE', `Cannot track ${day}: ${data}: run the day's pipeline first`);
        ctx.log.warn({ step: 'track', tracker: tracker.name, day: d }, `not sending ${d} to ${tracker.name}: ${data}`);
        delete entry.pending[d];
        continue;
      }
      try {
        const known = entry.days[d];
        const record = await tracker.track(data, known);
        // The same run/task again: the ledger keeps its record, so a rerun changes no byte of it.
        const same = known && known.id === record.id && known.url === record.url && known.experiment === record.experiment;
        if (!same) entry.days[d] = record;
        delete entry.pending[d];
        (sent[tracker.name] ??= []).push(d);
        ctx.log.info({ step: 'track', tracker: tracker.name, day: d, id: entry.days[d].id, url: entry.days[d].url || undefined }, `sent ${d} to ${tracker.name}${entry.days[d].url ? `: ${entry.days[d].url}` : ''}`);
      } catch (error) {
        // This tracker is down or refuses: the rest of its days wait with this one for the next run.
        const message = scrub(error instanceof Error ? error.message : String(error), env);
        const since = new Date(ctx.now()).toISOString();
        for (const rest of days.slice(i)) entry.pending[rest] = { since: entry.pending[rest]?.since ?? since, error: message };
        failures.push({ tracker: tracker.name, days: days.slice(i), error });
        break;
      }
    }
  }
  await writeTrackLedger(ws, ledger);
  const page = await writeTrackPage(ws, chatIdOf(ws, env), ledger);
  const pushed = options.push === false ? undefined : await pushState(ws.dir, day, ctx.log); // `run` pushes it with the report
  if (lease) await releaseLease(ws.dir, day);
  if (failures.length > 0) {
    const worst = failures.find((f) => isChatcastError(f.error) && f.error.code === 'CONFIG') ?? failures[0];
    const detail = failures.map((f) => `${f.tracker} (${f.days.join(', ')}): ${scrub((f.error as Error).message ?? String(f.error), env)}`).join('; ');
    throw new ChatcastError(
      isChatcastError(worst.error) && worst.error.code === 'CONFIG' ? 'CONFIG' : 'EXTERNAL',
      `Could not track ${detail}. The forecast and the report are not affected; these days stay pending in ${PATHS.trackLedger} and the next "chatcast track" sends them`,
      { cause: worst.error },
    );
  }
  return { day, sent, page, commit: pushed?.commit };
}

// `chatcast track`
export default defineCommand<StepArgs>({
  name: 'track',
  describe: 'Send the day (and any day a tracker missed) to the experiment trackers: local history, MLflow, ClearML',
  args: STEP_ARGS,
  async run(args, ctx) {
    const { ws, day } = await openStep(args, ctx, { step: 'track', history: 'serve' });
    return track(ws, day, ctx);
  },
});

import { actualFigure, forecastFigure, type Figure } from './charts.js';
import { dayBounds } from './dates.js';
import type { Evaluation } from './evaluation.js';
import type { ForecastDoc } from './forecast.js';
import type { SeriesRow } from './series.js';

// The experiment trackers chatcast can send a chat day to (params.yaml track.trackers, $CHATCAST_TRACKERS).
export const TRACKERS = ['local', 'mlflow', 'clearml'] as const;
export type TrackerName = (typeof TRACKERS)[number];

// A file sent with a day: a chart, the forecast JSON.
export interface TrackedFile {
  name: string; // the name it gets in the tracker, e.g. "actual.png", "forecast-2024-04-01.json"
  path: string; // absolute path in the workspace
  contentType: string; // image/png, application/json
}

// Everything `track` sends for one chat day, built from the workspace's artifacts only, so any past
// day can be (re)sent with exactly what the pipeline produced for it.
export interface TrackedDay {
  chat: string; // the chat's id (params.yaml chat.id): tags, MLflow experiment, ClearML project
  title: string; // the chat's title, for descriptions
  timezone: string;
  day: string; // the chat day, YYYY-MM-DD in the chat's zone
  step: number; // days since the chat's first day in the series (MLflow's metric step, ClearML's iteration)
  timestamp: number; // ms: the day's local midnight, as an instant (metric timestamps)
  experiment: string; // MLflow experiment / ClearML project name (track.experiment + "/" + chat)
  status: 'scored' | 'skipped'; // skipped: no forecast had been made for the day (its first day)
  // Flat string parameters: params.yaml's train section, the model that ran and the per-chat choice
  // (train.model, train.select_days, model.name, model.spec, choice.chosen, choice.compared, …). Stable for a day.
  params: Record<string, string>;
  // The day's numbers: smape, mae, rmse, mase, pinball, coverage80, naive_smape, naive_mae, naive_rmse,
  // actual_total, forecast_total, next_total, next_total_lo, next_total_hi, and choice.<candidate> scores.
  // A score that does not exist for the day (skipped, no naive) is left out, never NaN.
  metrics: Record<string, number>;
  // Tags every tracker sets: chatcast.day, chatcast.chat, and the data version (chatcast.tag,
  // chatcast.commit, chatcast.series_md5, chatcast.model_md5). Mutable, unlike params.
  tags: Record<string, string>;
  // The data version: the day's git tag and the dvc.lock hashes of the series and the model.
  version: { tag: string; commit: string | null; series_md5: string | null; model_md5: string | null };
  files: TrackedFile[]; // actual.png, forecast.png, forecast-<D+1>.json
  plots: { name: string; figure: Figure }[]; // the two charts as plotly figures (ClearML plots)
}

// What a tracker remembers of a day: enough to update the same run/task on a rerun and to link it.
export interface TrackRecord {
  id: string; // MLflow run id, ClearML task id, local: the day
  url: string; // the page a reader opens (the report caption links it); "" when there is none
  experiment?: string; // MLflow experiment id / ClearML project id
  tracked_at: string; // ISO instant
}

// One tracker: sends a day and says where it is. It finds an earlier run/task for the same day by
// `known` (from the ledger) or else by its tags, and updates it instead of creating another.
// Throws ChatcastError EXTERNAL (exit 7) when the tracker cannot be reached or refuses, CONFIG when it
// is not configured; never puts a secret in a message.
export interface Tracker {
  name: TrackerName;
  track(day: TrackedDay, known?: TrackRecord): Promise<TrackRecord>;
}

// One row of evaluate/history.tsv, as track reads it.
export type HistoryRow = Omit<Evaluation, 'reason'> & { reason?: string };

const SCORES = ['smape', 'mae', 'rmse', 'mase', 'pinball', 'coverage80', 'naive_smape', 'naive_mae', 'naive_rmse', 'actual_total', 'forecast_total'] as const;
const DAY_MS = 86_400_000;

// Params as trackers store them: flat strings, the same for a day on every rerun.
function flatParams(next: ForecastDoc): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(next.params)) out[`train.${key}`] = typeof value === 'string' ? value : JSON.stringify(value);
  out['model.name'] = next.model.name;
  out['model.spec'] = JSON.stringify(next.model.spec);
  out['model.method'] = next.method;
  if (next.choice) {
    out['choice.chosen'] = next.choice.chosen;
    out['choice.compared'] = next.choice.compared ? `${next.choice.compared.first}..${next.choice.compared.last} (${next.choice.compared.days} days)` : 'none';
  }
  out['data.through'] = next.data.through;
  out['data.hours'] = String(next.data.hours);
  return out;
}

// What `track` sends for day D, from what the pipeline left for D: its evaluation (history row), the
// forecast made for D (drawn against D's hours) and the one made on D for D+1 (its model and choice).
export function trackedDay(input: {
  chat: string;
  title: string;
  timezone: string;
  experiment: string;
  language: 'ru' | 'en';
  firstDay: string;
  row: HistoryRow;
  actual: SeriesRow[];
  forecast?: ForecastDoc;
  next: ForecastDoc;
  files: TrackedFile[];
  version: TrackedDay['version'];
}): TrackedDay {
  const { row, next } = input;
  const day = row.day;
  const metrics: Record<string, number> = {};
  for (const key of SCORES) {
    const value = row[key];
    if (typeof value === 'number' && Number.isFinite(value)) metrics[key] = value;
  }
  metrics.next_total = next.total;
  if (next.total_range) [metrics.next_total_lo, metrics.next_total_hi] = next.total_range;
  for (const [candidate, score] of Object.entries(next.choice?.scores ?? {})) {
    if (typeof score === 'number' && Number.isFinite(score)) metrics[`choice.${candidate}`] = score;
  }
  const version = input.version;
  const tags: Record<string, string> = {
    'chatcast.day': day,
    'chatcast.chat': input.chat,
    'chatcast.timezone': input.timezone,
    'chatcast.model': next.model.name,
    'chatcast.tag': version.tag,
    ...(version.commit ? { 'chatcast.commit': version.commit } : {}),
    ...(version.series_md5 ? { 'chatcast.series_md5': version.series_md5 } : {}),
    ...(version.model_md5 ? { 'chatcast.model_md5': version.model_md5 } : {}),
  };
  const common = { title: input.title, zone: input.timezone, language: input.language };
  return {
    chat: input.chat,
    title: input.title,
    timezone: input.timezone,
    day,
    step: Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${input.firstDay}T00:00:00Z`)) / DAY_MS),
    timestamp: dayBounds(day, input.timezone).startMs,
    experiment: `${input.experiment}/${input.chat}`,
    status: row.status,
    params: flatParams(next),
    metrics,
    tags,
    version,
    files: input.files,
    plots: [
      { name: 'actual', figure: actualFigure({ ...common, day, actual: input.actual, forecast: input.forecast }) },
      { name: 'forecast', figure: forecastFigure({ ...common, forecast: next }) },
    ],
  };
}

// track/ledger.json: per tracker, the run/task of every day sent, and the days still to send (the
// tracker was down), so the next `track` catches up and the report links the day's page.
export interface TrackLedger {
  trackers: Partial<Record<TrackerName, { days: Record<string, TrackRecord>; pending: Record<string, { since: string; error: string }> }>>;
}

// An empty track ledger.
export function emptyTrackLedger(): TrackLedger {
  return { trackers: {} };
}

const sortedKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));

// Combines two ledgers (a pull's and the workspace's): a day sent in either is sent, the newer record
// wins, and a day is pending only while no ledger has it sent.
export function mergeTrackLedgers(a: TrackLedger, b: TrackLedger): TrackLedger {
  const out: TrackLedger = { trackers: {} };
  for (const name of TRACKERS) {
    const x = a.trackers[name];
    const y = b.trackers[name];
    if (!x && !y) continue;
    const days: Record<string, TrackRecord> = { ...y?.days };
    for (const [day, record] of Object.entries(x?.days ?? {})) {
      if (!days[day] || days[day].tracked_at < record.tracked_at) days[day] = record;
    }
    const pending = Object.fromEntries(Object.entries({ ...y?.pending, ...x?.pending }).filter(([day]) => !days[day]));
    out.trackers[name] = { days: sortedKeys(days), pending: sortedKeys(pending) };
  }
  return out;
}

// The ledger file's text: sorted, so equal ledgers are equal bytes.
export function formatTrackLedger(ledger: TrackLedger): string {
  return JSON.stringify(mergeTrackLedgers(ledger, emptyTrackLedger()), null, 2) + '\n';
}

// The days `track --date D` sends to a tracker: D, every day the tracker missed (pending), and every
// evaluated day between its last sent day and D (a run that never reached `track`). A tracker that
// has sent nothing yet starts at D: switching one on does not replay the chat's whole past.
export function daysToTrack(ledger: TrackLedger, tracker: TrackerName, day: string, evaluated: string[]): string[] {
  const entry = ledger.trackers[tracker];
  const sent = Object.keys(entry?.days ?? {}).filter((d) => d < day).sort();
  const last = sent.at(-1);
  const gaps = last ? evaluated.filter((d) => d > last && d < day && !entry!.days[d]) : [];
  return [...new Set([...Object.keys(entry?.pending ?? {}).filter((d) => d <= day), ...gaps, day])].sort();
}

// The page the morning post links for D: the first tracker in `order` that has one.
export function trackerLink(ledger: TrackLedger, day: string, order: readonly TrackerName[]): string | undefined {
  for (const name of order) {
    const url = ledger.trackers[name]?.days[day]?.url;
    if (url) return url;
  }
  return undefined;
}

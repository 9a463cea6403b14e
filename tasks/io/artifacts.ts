import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ColumnTable } from 'arquero';
import YAML from 'yaml';
import { z } from 'zod';
import { ChatcastError } from '../core/errors.js';
import type { Evaluation } from '../core/evaluation.js';
import { forecastDocSchema, modelCardSchema, parseForecastDoc, type ForecastDoc, type ModelCard } from '../core/forecast.js';
import { emptyLedger, formatLedger, mergeLedgers, type Ledger } from '../core/ledger.js';
import { dayPath, PATHS } from '../core/pipeline.js';
import { emptySeries, formatSeriesMonths, parseSeries } from '../core/series.js';
import type { Cursor } from '../core/telegram.js';
import { emptyTrackLedger, formatTrackLedger, mergeTrackLedgers, TRACKERS, type TrackLedger } from '../core/tracking.js';
import { exists, readText, writeFiles } from './files.js';
import type { Workspace } from './workspace.js';

// Parses an artifact against its schema; a file that breaks it names the field and the step to rerun.
function parsed<T>(text: string, file: string, parse: (raw: unknown) => T, hint: string, read: (text: string) => unknown = JSON.parse): T {
  try {
    return parse(read(text));
  } catch (error) {
    throw new ChatcastError('STATE', `Invalid ${file}: ${issues(error)}: ${hint}`, { cause: error });
  }
}

// A schema's complaint (field: rule, the first three) or a parser's, as one line.
function issues(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).slice(0, 3).join('; ');
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0].replace(/:$/, '');
  if (error instanceof SyntaxError) return `not JSON (${message})`;
  if ((error as Error)?.name === 'YAMLParseError') return `not YAML (${message})`;
  return message;
}

const trackRecordSchema = z.object({ id: z.string(), url: z.string(), experiment: z.string().optional(), tracked_at: z.string() });
// track/ledger.json's one schema, for `track` that writes it and `report`/`pull` that read it.
const trackLedgerSchema = z.object({
  trackers: z.partialRecord(
    z.enum(TRACKERS),
    z.object({ days: z.record(z.string(), trackRecordSchema), pending: z.record(z.string(), z.object({ since: z.string(), error: z.string() })) }),
  ),
});

// Where the hourly series was one file before it was split by month; read until `aggregate` rewrites it.
export const LEGACY_SERIES = 'aggregate/hourly.tsv';
const MONTH_FILE = /^\d{4}-\d{2}\.tsv$/;

// The hourly series from aggregate/hourly/YYYY-MM.tsv (or a workspace's older aggregate/hourly.tsv);
// `day` names the day to aggregate when there is none, or undefined to start from an empty series.
export async function readSeries(ws: Workspace, day: string | undefined): Promise<ColumnTable> {
  const legacy = ws.path(LEGACY_SERIES);
  if (await exists(legacy)) return parseSeries(await readText(legacy, 'hourly series'), legacy);
  const dir = ws.path(PATHS.series);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => MONTH_FILE.test(n)).sort();
  if (names.length === 0) {
    if (day === undefined) return emptySeries();
    throw new ChatcastError('STATE', `Missing hourly series "${dir}" (no YYYY-MM.tsv in it): run "chatcast aggregate --date ${day}" first`);
  }
  const tables = await Promise.all(
    names.map(async (name) => {
      const file = join(dir, name);
      const text = await readText(file, 'hourly series');
      const month = name.slice(0, 7);
      // A row in another month's file would be dropped or doubled by the next aggregate.
      text.split('\n').forEach((line, i) => {
        const day = line.split('\t', 2)[1];
        if (i > 0 && line !== '' && day !== undefined && day.slice(0, 7) !== month) {
          throw new ChatcastError('STATE', `Invalid ${file} line ${i + 1}: day "${day}": expected a day of ${month}, the file's month: rerun "chatcast aggregate" for that day`);
        }
      });
      return parseSeries(text, file);
    }),
  );
  return tables[0].concat(...tables.slice(1));
}

// The text of an hourly series for `backtest`: a file, or a workspace's aggregate/hourly folder whose
// month files are joined under one header (line numbers in errors count in the joined text).
export async function readSeriesText(path: string): Promise<string> {
  const names = await readdir(path).catch(() => undefined); // not a folder: read it as a file (or say it is missing)
  if (names === undefined) return readText(path, 'hourly series');
  const months = names.filter((n) => MONTH_FILE.test(n)).sort();
  if (months.length === 0) throw new ChatcastError('INPUT', `Invalid --series "${path}": a folder must hold a workspace's month files (YYYY-MM.tsv), and this one has none`);
  const texts = await Promise.all(months.map((n) => readText(join(path, n), 'hourly series')));
  return texts.map((t, i) => (i === 0 ? t : t.slice(t.indexOf('\n') + 1))).join('');
}

// Writes the series as one file per month (an unchanged month is not touched, so DVC stores only the
// day's month again) and retires the single-file series of an older workspace.
export async function writeSeries(ws: Workspace, series: ColumnTable): Promise<string[]> {
  const months = formatSeriesMonths(series);
  const written = await writeFiles([...months].map(([month, data]) => ({ path: ws.path(PATHS.series, `${month}.tsv`), data })));
  const legacy = ws.path(LEGACY_SERIES);
  if (await exists(legacy)) {
    await rm(legacy);
    written.push(legacy);
  }
  return written;
}

// train/model.json. The model's training data is the hourly series through the card's day; the card
// holds its sha256, so `forecast` takes it from aggregate/hourly instead of a second copy of history.
export async function writeModel(ws: Workspace, card: ModelCard): Promise<void> {
  modelCardSchema.parse(card);
  await writeFiles([{ path: ws.path(PATHS.model), data: JSON.stringify(card, null, 2) + '\n' }]);
  await rm(ws.path(OLD_MODEL_VALUES), { force: true });
}

// The copy of the training series older workspaces kept beside the card.
const OLD_MODEL_VALUES = 'train/values.bin';

// Loads what `train` wrote and checks it was trained through `day`.
export async function readModel(ws: Workspace, day: string): Promise<ModelCard> {
  const hint = `rerun "chatcast train --date ${day}"`;
  const text = await readText(ws.path(PATHS.model), 'model card', `run "chatcast train --date ${day}" first`);
  const card = parsed(text, PATHS.model, (raw) => modelCardSchema.parse(raw), hint);
  if (card.trained_through !== day) {
    throw new ChatcastError('STATE', `The model in ${PATHS.model} was trained through ${card.trained_through}, not ${day}: ${hint}`);
  }
  return card;
}

// forecast/YYYY-MM/D.json, the forecast FOR day D.
export async function writeForecast(ws: Workspace, doc: ForecastDoc): Promise<string> {
  forecastDocSchema.parse(doc);
  const file = ws.path(dayPath(PATHS.forecasts, doc.day, '.json'));
  await writeFiles([{ path: file, data: JSON.stringify(doc, null, 2) + '\n' }]);
  return file;
}

// The forecast made for `day`, or undefined when none was made.
export async function readForecast(ws: Workspace, day: string): Promise<ForecastDoc | undefined> {
  const file = ws.path(dayPath(PATHS.forecasts, day, '.json'));
  if (!(await exists(file))) return undefined;
  return parsed(await readText(file, 'forecast'), dayPath(PATHS.forecasts, day, '.json'), (raw) => (typeof raw === 'object' && raw !== null ? parseForecastDoc(raw) : forecastDocSchema.parse(raw)), `rerun "chatcast forecast" for the day before ${day}`);
}

// track/ledger.json: what each tracker holds of each day (empty before the first `track`).
export async function readTrackLedger(ws: Workspace): Promise<TrackLedger> {
  const file = ws.path(PATHS.trackLedger);
  if (!(await exists(file))) return emptyTrackLedger();
  return parsed(await readText(file, 'track ledger'), PATHS.trackLedger, (raw) => trackLedgerSchema.parse(raw) as TrackLedger, `fix or delete it; the trackers still hold every day, and "chatcast track" finds them again by their tags`);
}

// Writes track/ledger.json (sorted, so a rerun that learned nothing changes no byte).
export async function writeTrackLedger(ws: Workspace, ledger: TrackLedger): Promise<void> {
  await writeFiles([{ path: ws.path(PATHS.trackLedger), data: formatTrackLedger(ledger) }]);
}

// Puts back what a pull would drop from the track ledger (sent, but not pushed yet).
export async function keepTrackLedger(ws: Workspace, before: TrackLedger): Promise<void> {
  if (Object.keys(before.trackers).length === 0) return;
  await writeTrackLedger(ws, mergeTrackLedgers(before, await readTrackLedger(ws)));
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isoDay = z.string().regex(DAY, 'expected a day as YYYY-MM-DD');
const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO instant');
// report/ledger.json's one schema, for `report` that writes it and `report`/`pull`/`run` that read it.
const ledgerSchema = z.object({
  days: z.record(isoDay, z.object({ chat: z.string(), message_ids: z.array(z.number().int()).min(1), sent_at: instant })),
  pending: z.record(isoDay, z.object({ chat: z.string(), since: instant })).optional(),
}) satisfies z.ZodType<Ledger>;

// report/ledger.json: what was posted (and what began to be), per day; empty before the first post.
export async function readLedger(ws: Workspace): Promise<Ledger> {
  const file = ws.path(PATHS.ledger);
  if (!(await exists(file))) return emptyLedger();
  return parsed(
    await readText(file, 'report ledger'),
    PATHS.ledger,
    (raw) => ledgerSchema.parse(raw),
    `fix it by hand, keeping every day that was posted (it is what stops a rerun from posting a day twice), or delete it if this workspace never posted a report`,
  );
}

// Writes report/ledger.json, checked and sorted (equal ledgers are equal bytes).
export async function writeLedger(ws: Workspace, ledger: Ledger): Promise<void> {
  ledgerSchema.parse(ledger);
  await writeFiles([{ path: ws.path(PATHS.ledger), data: formatLedger(ledger) }]);
}

// Puts back ledger entries a pull would drop (posted, or begun, but not pushed yet), so no day is posted twice.
export async function keepLedger(ws: Workspace, before: Ledger): Promise<void> {
  if (Object.keys(before.days).length === 0 && Object.keys(before.pending ?? {}).length === 0) return;
  await writeLedger(ws, mergeLedgers(before, await readLedger(ws)));
}

// ingest/cursor.json, where incremental ingestion stands.
export const CURSOR = `${PATHS.ingest}/cursor.json`;
// The cursor's one schema, for the ingest that writes it and the next one that reads it.
const cursorSchema = z.object({ chat_id: z.string().min(1), chat_title: z.string(), last_id: z.number().int().nullable(), last_day: isoDay }) satisfies z.ZodType<Cursor>;

// The ingest cursor, or undefined before the first mtproto or export ingest.
export async function readCursor(ws: Workspace): Promise<Cursor | undefined> {
  const file = ws.path(CURSOR);
  if (!(await exists(file))) return undefined;
  return parsed(
    await readText(file, 'ingest cursor'),
    CURSOR,
    (raw) => cursorSchema.parse(raw),
    `restore it with "chatcast pull", or delete it: ingest then starts again at params.yaml ingest.since and merges by message id, so nothing is counted twice`,
  );
}

// The cursor as a file for writeFiles, so it is written in the same atomic set as the partitions.
export function cursorFile(ws: Workspace, cursor: Cursor): { path: string; data: string } {
  cursorSchema.parse(cursor);
  return { path: ws.path(CURSOR), data: JSON.stringify(cursor, null, 2) + '\n' };
}

const score = z.number().nullable();
// evaluate/metrics.json's one schema, for `evaluate` that writes it and `report` that reads it.
const metricsSchema = z.object({
  day: isoDay,
  status: z.enum(['scored', 'skipped']),
  reason: z.string(),
  smape: score,
  mae: score,
  rmse: score,
  mase: score,
  pinball: score,
  coverage80: score,
  actual_total: z.number(),
  forecast_total: score,
  naive_smape: score,
  naive_mae: score,
  naive_rmse: score,
}) satisfies z.ZodType<Evaluation>;

// evaluate/metrics.json as a file for writeFiles, so it is written in the same atomic set as history.tsv.
export function metricsFile(ws: Workspace, evaluation: Evaluation): { path: string; data: string } {
  metricsSchema.parse(evaluation);
  return { path: ws.path(PATHS.metrics), data: JSON.stringify(evaluation, null, 2) + '\n' };
}

// The score of `day` that `evaluate` left, checked to be that day's.
export async function readMetrics(ws: Workspace, day: string): Promise<Evaluation> {
  const text = await readText(ws.path(PATHS.metrics), 'metrics', `run "chatcast evaluate --date ${day}" first`);
  const evaluation = parsed(text, PATHS.metrics, (raw) => metricsSchema.parse(raw), `rerun "chatcast evaluate --date ${day}"`);
  if (evaluation.day !== day) {
    throw new ChatcastError('STATE', `${PATHS.metrics} holds ${evaluation.day}, not ${day}: run "chatcast evaluate --date ${day}" first`);
  }
  return evaluation;
}

// What chatcast reads of dvc.lock (DVC writes it): each stage's outputs and their hashes.
const lockSchema = z.object({
  stages: z.record(z.string(), z.object({ outs: z.array(z.object({ path: z.string(), md5: z.string().optional() })).optional() })).optional(),
});

// The stages of a dvc.lock's text; `file` names it (dvc.lock, or the one of a day's commit) in the error.
export function readLockStages(text: string, file = 'dvc.lock'): Record<string, { outs?: { path: string; md5?: string }[] }> {
  const lock = parsed(
    text,
    file,
    (raw) => lockSchema.parse(raw ?? {}),
    `it is DVC's record of the pushed data: bring back a good version from git ("git log --oneline -- dvc.lock", then "git checkout COMMIT -- dvc.lock") and commit it`,
    (t) => YAML.parse(t),
  );
  return lock.stages ?? {};
}

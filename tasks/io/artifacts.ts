import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ChatcastError } from '../core/errors.js';
import { bytesToValues, forecastDocSchema, modelCardSchema, parseForecastDoc, valuesToBytes, type ForecastDoc, type ModelCard } from '../core/forecast.js';
import { PATHS } from '../core/pipeline.js';
import { emptyTrackLedger, formatTrackLedger, mergeTrackLedgers, TRACKERS, type TrackLedger } from '../core/tracking.js';
import { exists, readText, writeFiles } from './files.js';
import type { Workspace } from './workspace.js';

// Parses an artifact against its schema; a file that breaks it names the field and the step to rerun.
function parsed<T>(text: string, file: string, parse: (raw: unknown) => T, hint: string): T {
  try {
    return parse(JSON.parse(text));
  } catch (error) {
    const detail = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).slice(0, 3).join('; ') : (error as Error).message;
    throw new ChatcastError('STATE', `Invalid ${file}: ${detail}: ${hint}`, { cause: error });
  }
}

const trackRecordSchema = z.object({ id: z.string(), url: z.string(), experiment: z.string().optional(), tracked_at: z.string() });
// track/ledger.json's one schema, for `track` that writes it and `report`/`pull` that read it.
const trackLedgerSchema = z.object({
  trackers: z.partialRecord(
    z.enum(TRACKERS),
    z.object({ days: z.record(z.string(), trackRecordSchema), pending: z.record(z.string(), z.object({ since: z.string(), error: z.string() })) }),
  ),
});

// train/: the model card and the training series it names, written together.
export async function writeModel(ws: Workspace, card: ModelCard, values: Float32Array): Promise<void> {
  modelCardSchema.parse(card);
  await writeFiles([
    { path: ws.path(PATHS.modelValues), data: valuesToBytes(values) },
    { path: ws.path(PATHS.model), data: JSON.stringify(card, null, 2) + '\n' },
  ]);
}

// Loads what `train` wrote and checks it was trained through `day`.
export async function readModel(ws: Workspace, day: string): Promise<{ card: ModelCard; values: Float32Array }> {
  const hint = `rerun "chatcast train --date ${day}"`;
  const text = await readText(ws.path(PATHS.model), 'model card', `run "chatcast train --date ${day}" first`);
  const card = parsed(text, PATHS.model, (raw) => modelCardSchema.parse(raw), hint);
  if (card.trained_through !== day) {
    throw new ChatcastError('STATE', `The model in ${PATHS.model} was trained through ${card.trained_through}, not ${day}: ${hint}`);
  }
  const values = bytesToValues(new Uint8Array(await readFile(ws.path(PATHS.modelValues))));
  return { card, values };
}

// forecast/D.json, the forecast FOR day D.
export async function writeForecast(ws: Workspace, doc: ForecastDoc): Promise<string> {
  forecastDocSchema.parse(doc);
  const file = ws.path(PATHS.forecasts, `${doc.day}.json`);
  await writeFiles([{ path: file, data: JSON.stringify(doc, null, 2) + '\n' }]);
  return file;
}

// The forecast made for `day`, or undefined when none was made.
export async function readForecast(ws: Workspace, day: string): Promise<ForecastDoc | undefined> {
  const file = ws.path(PATHS.forecasts, `${day}.json`);
  if (!(await exists(file))) return undefined;
  return parsed(await readText(file, 'forecast'), `${PATHS.forecasts}/${day}.json`, parseForecastDoc, `rerun "chatcast forecast" for the day before ${day}`);
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

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { chosenTrackers, defaultParams, validateParams } from '../../tasks/core/params.js';
import { ROOT } from '../helpers.js';

describe('params.yaml', () => {
  it("the checkout's params.yaml (the template init copies) holds exactly the defaults", () => {
    const raw = YAML.parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8'));
    expect(validateParams(raw)).toEqual(defaultParams());
    expect(raw).toEqual(defaultParams());
  });

  it('fills what a section leaves out and keeps what it sets', () => {
    const params = validateParams({ chat: { timezone: 'Asia/Tokyo' }, train: { select_days: 28 } });
    expect(params.chat).toEqual({ id: '', title: 'Учебный чат', timezone: 'Asia/Tokyo' });
    expect(params.track).toEqual({ trackers: ['local'], experiment: 'chatcast' });
    expect(validateParams({ track: { trackers: ['mlflow', 'clearml', 'mlflow'] } }).track.trackers).toEqual(['mlflow', 'clearml']);
    expect(params.train).toEqual({ model: 'auto', select_days: 28, pool: 3 });
    expect(validateParams({ train: { model: 'knn_direct', k: 3 } }).train).toEqual({ model: 'knn_direct', k: 3, window: 168, transform: 'log1p', level: false });
    expect(validateParams({ train: { model: 'knn_recursive' } }).train).toEqual({ model: 'knn_recursive', k: 1, window: 168 });
    expect(validateParams({ train: { model: 'profile', weekday: 0 } }).train).toEqual({ model: 'profile', days: 56, halflife: 28, weekday: 0, level: false });
  });

  it('chooses the trackers from $CHATCAST_TRACKERS over params.yaml, local always first', () => {
    const params = validateParams({ track: { trackers: ['clearml'] } });
    expect(chosenTrackers(params, {})).toEqual(['local', 'clearml']);
    expect(chosenTrackers(params, { CHATCAST_TRACKERS: ' mlflow, local ' })).toEqual(['local', 'mlflow']);
    expect(chosenTrackers(params, { CHATCAST_TRACKERS: '' })).toEqual(['local', 'clearml']);
    expect(() => chosenTrackers(params, { CHATCAST_TRACKERS: 'wandb' })).toThrow('Invalid $CHATCAST_TRACKERS "wandb": expected a comma-separated list of local, mlflow, clearml');
  });

  it.each([
    [{ chat: { timezone: 'Europe/Berlln' } }, 'Invalid params.yaml chat.timezone "Europe/Berlln": expected an IANA time zone'],
    [{ train: { model: 'knn_direct', k: 0 } }, 'Invalid params.yaml train.k "0": expected an integer from 1 to 1000'],
    [{ train: { model: 'knn_recursive', window: 2.5 } }, 'Invalid params.yaml train.window "2.5": expected an integer'],
    [{ train: { model: 'prophet' } }, 'Invalid params.yaml train.model "prophet": expected one of auto, knn_direct, knn_recursive, profile'],
    [{ train: { select_days: 3 } }, 'Invalid params.yaml train.select_days "3": expected an integer from 7 to 365'],
    [{ train: { pool: 0 } }, 'Invalid params.yaml train.pool "0": expected an integer from 1 to 9'],
    [{ train: { model: 'knn_direct', band: [0.1, 0.8] } }, `Invalid params.yaml train.band "[0.1,0.8]": the band is always the forecast distribution's 10% and 90% quantiles now; remove train.band`],
    [{ train: { windw: 72 } }, 'Invalid params.yaml train.windw: expected only model, select_days, pool, k, window, transform, level, jitter, days, halflife, weekday'],
    [{ train: { model: 'knn_direct', transform: 'sqrt' } }, 'Invalid params.yaml train.transform "sqrt": expected one of log1p, none'],
    [{ train: { model: 'profile', weekday: 2 } }, 'Invalid params.yaml train.weekday "2": expected a number from 0 to 1'],
    [{ train: { model: 'knn_direct', level: 'yes' } }, 'Invalid params.yaml train.level "yes": expected true or false'],
    [{ ingest: { store_text: 'yes' } }, 'Invalid params.yaml ingest.store_text "yes": expected true or false'],
    [{ render: { language: 'de' } }, 'Invalid params.yaml render.language "de": expected one of ru, en'],
    [{ chat: 'Berlin' }, 'Invalid params.yaml chat: expected a mapping'],
    [{ chat: { titel: 'x' } }, 'Invalid params.yaml chat.titel: expected only id, title, timezone'],
    [{ ingest: { simulate: { sead: 1 } } }, 'Invalid params.yaml ingest.simulate.sead: expected only seed, base, quietWeekShare, burstShare, burstSize, senders'],
    [{ render: { widht: 800 } }, 'Invalid params.yaml render.widht: expected only width, height, language'],
    [{ trak: { trackers: ['mlflow'] } }, 'Invalid params.yaml trak: expected only chat, ingest, train, render, track'],
    [{ chat: { id: 'My Chat' } }, 'Invalid params.yaml chat.id "My Chat": expected lower-case letters, digits, _ and - (up to 64), or "" for the workspace folder\'s name'],
    [{ track: { trackers: ['mlfow'] } }, 'Invalid params.yaml track.trackers "mlfow": expected a list of local, mlflow, clearml'],
    [{ track: { trackers: 'mlflow,local' } }, 'Invalid params.yaml track.trackers "mlflow,local": expected a list of local, mlflow, clearml'],
    [{ track: { experiment: '/x' } }, 'Invalid params.yaml track.experiment "/x": expected a name of up to 200 printable characters, not starting or ending with /'],
  ])('refuses %j', (raw, message) => {
    expect(() => validateParams(raw)).toThrow(message);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultParams, validateParams } from '../../tasks/core/params.js';
import { ROOT } from '../helpers.js';

describe('params.yaml', () => {
  it("the checkout's params.yaml (the template init copies) holds exactly the defaults", () => {
    const raw = YAML.parse(readFileSync(join(ROOT, 'params.yaml'), 'utf8'));
    expect(validateParams(raw)).toEqual(defaultParams());
    expect(raw).toEqual(defaultParams());
  });

  it('fills what a section leaves out and keeps what it sets', () => {
    const params = validateParams({ chat: { timezone: 'Asia/Tokyo' }, train: { k: 3 } });
    expect(params.chat).toEqual({ title: 'Учебный чат', timezone: 'Asia/Tokyo' });
    expect(params.train).toEqual({ model: 'knn_direct', k: 3, window: 72, transform: 'log1p', band: [0.1, 0.8] });
    expect(validateParams({ train: { model: 'knn_recursive' } }).train).toEqual({ model: 'knn_recursive', k: 1, window: 168 });
  });

  it.each([
    [{ chat: { timezone: 'Europe/Berlln' } }, 'Invalid params.yaml chat.timezone "Europe/Berlln": expected an IANA time zone'],
    [{ train: { k: 0 } }, 'Invalid params.yaml train.k "0": expected an integer from 1 to 1000'],
    [{ train: { window: 2.5 } }, 'Invalid params.yaml train.window "2.5": expected an integer'],
    [{ train: { model: 'prophet' } }, 'Invalid params.yaml train.model "prophet": expected one of knn_direct, knn_recursive'],
    [{ train: { band: [0.6, 0.9] } }, 'Invalid params.yaml train.band "[0.6,0.9]": expected [lower, upper] quantiles with 0 ≤ lower < 0.5 < upper ≤ 1'],
    [{ train: { transform: 'sqrt' } }, 'Invalid params.yaml train.transform "sqrt": expected one of log1p, none'],
    [{ ingest: { store_text: 'yes' } }, 'Invalid params.yaml ingest.store_text "yes": expected true or false'],
    [{ render: { language: 'de' } }, 'Invalid params.yaml render.language "de": expected one of ru, en'],
    [{ chat: 'Berlin' }, 'Invalid params.yaml chat: expected a mapping'],
  ])('refuses %j', (raw, message) => {
    expect(() => validateParams(raw)).toThrow(message);
  });
});

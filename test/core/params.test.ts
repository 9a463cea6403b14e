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
    expect(params.train).toEqual({ model: 'knn', k: 3, window: 168, strategy: 'recursive' });
  });

  it.each([
    [{ chat: { timezone: 'Europe/Berlln' } }, 'Invalid params.yaml chat.timezone "Europe/Berlln": expected an IANA time zone'],
    [{ train: { k: 0 } }, 'Invalid params.yaml train.k "0": expected an integer from 1 to 1000'],
    [{ train: { window: 2.5 } }, 'Invalid params.yaml train.window "2.5": expected an integer'],
    [{ train: { strategy: 'direct' } }, 'Invalid params.yaml train.strategy "direct": expected one of recursive'],
    [{ ingest: { store_text: 'yes' } }, 'Invalid params.yaml ingest.store_text "yes": expected true or false'],
    [{ render: { language: 'de' } }, 'Invalid params.yaml render.language "de": expected one of ru, en'],
    [{ chat: 'Berlin' }, 'Invalid params.yaml chat: expected a mapping'],
  ])('refuses %j', (raw, message) => {
    expect(() => validateParams(raw)).toThrow(message);
  });
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { actualFigure, forecastFigure } from '../../tasks/core/charts.js';
import { chatDays } from '../../tasks/core/calendar.js';
import { addDays, dayHours } from '../../tasks/core/dates.js';
import { describeModel, predictDay } from '../../tasks/core/forecast.js';
import { defaultParams } from '../../tasks/core/params.js';
import { TEST_CHATS, syntheticChat } from '../../tasks/core/synthetic.js';
import { renderPngs } from '../../tasks/io/browser.js';
import { FIXTURES } from '../helpers.js';

// The expected look of the two charts for a quiet, an ordinary and a busy chat, each on a day whose
// forecast the real pipeline code makes (the per-chat choice included), and for the quiet chat's
// clock-change days: Berlin's 25-hour autumn day and, moved to Australia/Lord_Howe, a day whose clock
// goes back by half an hour (a 30-minute 01:30 slot). The PNGs in
// test/fixtures/charts were looked at before they were checked in; CHATCAST_UPDATE_CHARTS=1 rewrites
// them after a deliberate change of the look (then look at them again).
const DIR = join(FIXTURES, 'charts');
const CASES: { chat: string; day: string; file?: string; zone?: string }[] = [
  { chat: 'quiet', day: '2024-03-31' }, // Berlin's spring clock change: 23 hours, no 02:00
  { chat: 'ordinary', day: '2024-11-14' },
  { chat: 'busy', day: '2024-11-13' },
  { chat: 'quiet', day: '2024-10-27', file: 'quiet-25h' }, // Berlin's autumn clock change: 25 hours, 02:00 twice
  { chat: 'quiet', day: '2024-04-07', file: 'lord-howe-24h30', zone: 'Australia/Lord_Howe' }, // 02:00 back to 01:30
];

function figures(name: string, day: string, zone?: string) {
  const found = TEST_CHATS.find((c) => c.name === name)!;
  const character = zone ? { ...found, zone } : found;
  const rows = syntheticChat(character);
  const end = rows.findIndex((r) => r.day === day);
  const values = Float32Array.from(rows.slice(0, end), (r) => r.messages);
  const before = addDays(day, -1);
  const card = describeModel(values, rows.slice(0, end).map((r) => r.start), defaultParams().train, before, character.zone);
  const forecast = predictDay(card, values, dayHours(day, character.zone), before, day);
  const actual = rows.filter((r) => r.day === day);
  expect(chatDays(actual.map((r) => r.start), character.zone)).toHaveLength(1);
  const title = { quiet: 'Семинар по матанализу', ordinary: 'Клуб настольных игр', busy: 'Команда разработки' }[name]!;
  return [actualFigure({ title, day, zone: character.zone, language: 'ru', actual, forecast }), forecastFigure({ title, zone: character.zone, language: 'ru', forecast })];
}

// Share of pixels whose colour differs by more than a little in some channel (anti-aliasing aside).
function difference(a: Buffer, b: Buffer): number {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) return 1;
  let differing = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    if (Math.max(...[0, 1, 2].map((c) => Math.abs(x.data[i + c] - y.data[i + c]))) > 48) differing++;
  }
  return differing / (x.width * x.height);
}

describe('the charts look as checked in', () => {
  it.each(CASES)('$chat chat, $day: yesterday against its forecast, and the forecast', async ({ chat, day, file, zone }) => {
    const pngs = await renderPngs(figures(chat, day, zone), { width: 1200, height: 600 });
    const names = [`${file ?? chat}-actual.png`, `${file ?? chat}-forecast.png`];
    if (process.env.CHATCAST_UPDATE_CHARTS === '1') {
      mkdirSync(DIR, { recursive: true });
      names.forEach((n, i) => writeFileSync(join(DIR, n), pngs[i]));
    }
    names.forEach((n, i) => {
      const file = join(DIR, n);
      expect(existsSync(file), `${file} is missing: render it with CHATCAST_UPDATE_CHARTS=1 and look at it`).toBe(true);
      expect(difference(pngs[i], readFileSync(file)), n).toBeLessThan(0.005);
    });
  });

  it('tell a missing legend entry or title from the checked-in look', async () => {
    const [actual] = figures('quiet', '2024-03-31');
    const without = { ...actual, data: actual.data.map((t) => ({ ...t, showlegend: false })), layout: { ...actual.layout, title: { text: '' } } };
    const [png] = await renderPngs([without], { width: 1200, height: 600 });
    expect(difference(png, readFileSync(join(DIR, 'quiet-actual.png')))).toBeGreaterThan(0.005);
  });
});

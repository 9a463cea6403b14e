import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addDays, dayHours, daysFrom } from '../../tasks/core/dates.js';
import { parseSeries } from '../../tasks/core/series.js';
import { ingest } from '../../tasks/commands/ingest.js';
import { aggregate } from '../../tasks/commands/aggregate.js';
import { evaluate } from '../../tasks/commands/evaluate.js';
import { train } from '../../tasks/commands/train.js';
import { forecast } from '../../tasks/commands/forecast.js';
import { render } from '../../tasks/commands/render.js';
import { report } from '../../tasks/commands/report.js';
import { initWorkspace } from '../../tasks/io/workspace.js';
import { quietContext, tempDir } from '../helpers.js';
import { readSeriesText } from '../../tasks/io/artifacts.js';
import { dayPath } from '../../tasks/core/pipeline.js';

// Zones whose clocks change at midnight, by half an hour, or skip a whole date: the daily steps run
// through the change and the days after it, and the series holds every real slot exactly once.
describe('the daily steps through odd clock changes', () => {
  it.each([
    ['America/Santiago', '2024-09-08'],
    ['America/Sao_Paulo', '2018-11-04'],
    ['Africa/Cairo', '2024-04-26'],
    ['America/Havana', '2024-03-10'],
    ['Asia/Beirut', '2024-03-31'],
    ['America/Asuncion', '2023-10-01'],
    ['Australia/Lord_Howe', '2024-10-06'],
    ['Pacific/Apia', '2011-12-30'],
  ])('%s around %s', async (zone, change) => {
    const { workspace: ws } = await initWorkspace(join(await tempDir(), 'ws'), { timezone: zone, source: 'simulate' });
    const ctx = quietContext();
    const days = daysFrom(addDays(change, -9), addDays(change, 2));
    for (const day of days) {
      await ingest(ws, day, ctx);
      await aggregate(ws, day, ctx);
    }
    for (const day of days.slice(-4)) {
      const scored = await evaluate(ws, day, ctx);
      expect(scored.day).toBe(day);
      await train(ws, day, ctx);
      const next = await forecast(ws, day, ctx);
      expect(next.hours.map((h) => h.start)).toEqual(dayHours(addDays(day, 1), zone).map((h) => h.start));
      if (day !== change) continue;
      // The day of the change is drawn and reported like any other (a skipped date: with no hours).
      await render(ws, day, ctx);
      const post = await report(ws, day, ctx, { env: {} });
      expect(post.caption).toContain(`${day} (${zone})`);
    }
    const series = parseSeries(await readSeriesText(ws.path('aggregate', 'hourly')), 'hourly').objects() as { start: string; day: string }[];
    expect(series.map((r) => r.start)).toEqual(days.flatMap((d) => dayHours(d, zone).map((h) => h.start)));
    expect(new Set(series.map((r) => r.start)).size).toBe(series.length);
    const messages = (await Promise.all(days.map((d) => readFile(ws.path(dayPath('ingest', d, '.jsonl')), 'utf8')))).join('').split('\n').filter(Boolean).length;
    const counted = (parseSeries(await readSeriesText(ws.path('aggregate', 'hourly')), 'h').objects() as { messages: number }[]).reduce((s, r) => s + r.messages, 0);
    expect(counted).toBe(messages); // every message in exactly one slot
  });
});

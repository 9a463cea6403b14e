import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { openChartPage, renderPngs } from '../../tasks/io/browser.js';
import { actualFigure, forecastFigure } from '../../tasks/core/charts.js';
import { dayHours } from '../../tasks/core/dates.js';
import type { ForecastDoc } from '../../tasks/core/forecast.js';

const zone = 'Europe/Berlin';
const hours = dayHours('2024-10-27', zone); // 25 hours: the repeated 02:00 gets its offset
const forecast: ForecastDoc = {
  day: '2024-10-27',
  made_on: '2024-10-26',
  timezone: zone,
  method: 'knn_direct',
  model: { name: 'knn_direct', spec: { model: 'knn_direct', k: 50, window: 168, transform: 'log1p' } },
  params: { model: 'knn_direct', k: 50, window: 168, transform: 'log1p' },
  data: { through: '2024-10-26', hours: 1000, sha256: 'x' },
  levels: [0.1, 0.5, 0.9],
  total: 25,
  total_range: [18, 33],
  peak: { local: '20:00', mean: 5 },
  hours: hours.map((h, i) => ({ ...h, point: i % 5, median: i % 5, mean: (i % 5) + 0.4, lo: 0, hi: (i % 5) + 2, p0: 0.2, quantiles: [0, i % 5, (i % 5) + 2] })),
};

describe('charts in headless Chromium', () => {
  it('render as valid PNGs of the configured size, with visible content', async () => {
    const actual = hours.map((h, i) => ({ ...h, day: '2024-10-27', messages: (i * 7) % 11 }));
    const figures = [
      actualFigure({ title: 'Учебный чат', day: '2024-10-27', zone, language: 'ru', actual, forecast }),
      forecastFigure({ title: 'Учебный чат', zone, language: 'en', forecast }),
    ];
    const pngs = await renderPngs(figures, { width: 900, height: 500 });
    expect(pngs).toHaveLength(2);
    for (const png of pngs) {
      const image = PNG.sync.read(png);
      expect([image.width, image.height]).toEqual([900, 500]);
      const colours = new Set<number>();
      for (let i = 0; i < image.data.length; i += 4 * 97) colours.add(image.data.readUInt32BE(i));
      expect(colours.size).toBeGreaterThan(3); // bars, band, text and background, not a blank page
    }
    // The same figures render to the same bytes: reruns leave charts unchanged for DVC.
    const again = await renderPngs(figures, { width: 900, height: 500 });
    expect(again[0].equals(pngs[0])).toBe(true);
  });

  it('drawn in a page opened ahead (as `chatcast run` does), come out byte for byte as renderPngs draws them', async () => {
    const actual = hours.map((h, i) => ({ ...h, day: '2024-10-27', messages: (i * 3) % 7 }));
    const figures = [
      actualFigure({ title: 'Учебный чат', day: '2024-10-27', zone, language: 'ru', actual, forecast }),
      forecastFigure({ title: 'Учебный чат', zone, language: 'ru', forecast }),
    ];
    const page = await openChartPage();
    let ahead: Buffer[];
    let again: Buffer[];
    try {
      ahead = await page.draw(figures, { width: 1200, height: 600 });
      again = await page.draw(figures, { width: 1200, height: 600 });
    } finally {
      await page.close();
    }
    const own = await renderPngs(figures, { width: 1200, height: 600 });
    expect(own).toHaveLength(2);
    expect(ahead.map((png, i) => png.equals(own[i]))).toEqual([true, true]);
    expect(again.map((png, i) => png.equals(own[i]))).toEqual([true, true]);
    expect(ahead[0].equals(ahead[1])).toBe(false);
  });

  it('have a font with Cyrillic glyphs on this machine (fontconfig, which Chromium uses)', () => {
    const fonts = execFileSync('fc-list', [':lang=ru', 'family'], { encoding: 'utf8' }).trim();
    expect(fonts.length, 'no Cyrillic font: apt-get install fonts-dejavu-core').toBeGreaterThan(0);
  });

  it('label the repeated hour of the autumn clock change with its offset', () => {
    const figure = forecastFigure({ title: 't', zone, language: 'en', forecast });
    const x = figure.data.find((trace) => trace.mode === 'lines+markers')!.x as string[];
    expect(x).toHaveLength(25);
    expect(x.filter((l) => l.startsWith('02:00'))).toEqual(['02:00 (UTC+02:00)', '02:00 (UTC+01:00)']);
  });
});

describe('the charts say what the forecast says', () => {
  it('the forecast chart: the mean as the line, the 80% band shaded, the expected total with its range', () => {
    const figure = forecastFigure({ title: 't', zone, language: 'en', forecast });
    const [lo, hi, mean] = figure.data;
    expect(figure.data).toHaveLength(3);
    expect(lo.y).toEqual(forecast.hours.map((h) => h.lo));
    expect(hi).toMatchObject({ fill: 'tonexty', name: '80% band', y: forecast.hours.map((h) => h.hi) });
    expect(mean).toMatchObject({ type: 'scatter', name: 'Expected (mean)', y: forecast.hours.map((h) => h.mean) });
    expect((figure.layout.title as { text: string }).text).toContain('Expected ≈ 25 messages (80%: 18–33) · peak around 20:00');
  });

  it("yesterday's chart: actual bars against the mean and band forecast for them", () => {
    const actual = hours.map((h) => ({ ...h, day: '2024-10-27', messages: 1 }));
    const figure = actualFigure({ title: 't', day: '2024-10-27', zone, language: 'ru', actual, forecast });
    const names = figure.data.map((t) => t.name);
    expect(names).toEqual([undefined, '80% интервал', 'Факт', 'Ожидалось накануне (среднее)']);
    expect(figure.data[3].y).toEqual(forecast.hours.map((h) => h.mean));
    expect((figure.layout.title as { text: string }).text).toContain('Всего: 25 · ожидалось ≈ 25 (80%: 18–33)');
  });

  it('on a quiet day the y axis still spans a whole message, so a mean of 0.2 is a visible line', () => {
    const quiet: ForecastDoc = { ...forecast, total: 4.8, total_range: [0, 9], hours: forecast.hours.map((h) => ({ ...h, point: 0, median: 0, mean: 0.2, lo: 0, hi: 0 })) };
    const figure = forecastFigure({ title: 't', zone, language: 'en', forecast: quiet });
    expect((figure.layout.yaxis as { range: number[] }).range[1]).toBeGreaterThanOrEqual(1);
    expect(figure.data.every((t) => t.showlegend !== false || t.legendgroup === 'band')).toBe(true);
  });
});

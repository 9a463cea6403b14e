import type { ForecastDoc } from './forecast.js';
import type { SeriesRow } from './series.js';

// A plotly figure as plain data: what the browser draws.
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

// Chart wording per language; the channel reads Russian by default.
const TEXT = {
  ru: {
    actualTitle: (title: string, day: string, zone: string) => `«${title}»: сообщения по часам, ${day} (${zone})`,
    forecastTitle: (title: string, day: string, zone: string) => `«${title}»: прогноз на ${day} (${zone})`,
    hour: (zone: string) => `Час (${zone})`,
    messages: 'Сообщений за час',
    actual: 'Факт',
    forecastMade: 'Прогноз накануне (медиана)',
    forecast: 'Медиана',
    mean: 'Среднее',
    band: '80% интервал',
    totals: (actual: number, forecast: number | null) =>
      `Всего: ${actual}` + (forecast === null ? ' · прогноза на этот день не было' : ` · прогноз: ${fmt(forecast)}`),
    expected: (total: number, peak: string) => `Ожидается всего ≈ ${fmt(total)} · пик около ${peak} · закрашено: 80% интервал`,
  },
  en: {
    actualTitle: (title: string, day: string, zone: string) => `${title}: messages per hour, ${day} (${zone})`,
    forecastTitle: (title: string, day: string, zone: string) => `${title}: forecast for ${day} (${zone})`,
    hour: (zone: string) => `Hour (${zone})`,
    messages: 'Messages per hour',
    actual: 'Actual',
    forecastMade: 'Forecast made the day before (median)',
    forecast: 'Median',
    mean: 'Mean',
    band: '80% band',
    totals: (actual: number, forecast: number | null) =>
      `Total: ${actual}` + (forecast === null ? ' · no forecast was made for this day' : ` · forecast: ${fmt(forecast)}`),
    expected: (total: number, peak: string) => `Expected total ≈ ${fmt(total)} · peak around ${peak} · shaded: 80% band`,
  },
} as const;

function fmt(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

// Hour labels on the chat's clock; on the night the clocks go back the repeated hour shows its offset.
export function hourLabels(hours: { local: string; offset: string }[]): string[] {
  const seen = new Map<string, number>();
  for (const h of hours) seen.set(h.local, (seen.get(h.local) ?? 0) + 1);
  return hours.map((h) => (seen.get(h.local)! > 1 ? `${h.local} (UTC${h.offset})` : h.local));
}

const FONT = { family: 'DejaVu Sans, Noto Sans, Arial, sans-serif', size: 14, color: '#222' };

function layout(title: string, subtitle: string, zone: string, language: 'ru' | 'en'): Record<string, unknown> {
  const t = TEXT[language];
  return {
    title: { text: `${title}<br><span style="font-size:13px">${subtitle}</span>`, x: 0.02, xanchor: 'left' },
    font: FONT,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 70, r: 30, t: 90, b: 80 },
    xaxis: { title: { text: t.hour(zone) }, type: 'category', tickangle: -45, gridcolor: '#eee' },
    yaxis: { title: { text: t.messages }, rangemode: 'tozero', gridcolor: '#eee', zeroline: true },
    legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
    bargap: 0.15,
    showlegend: true,
  };
}

// Yesterday's hours as bars, with the forecast that had been made for them as a line.
export function actualFigure(options: {
  title: string;
  day: string;
  zone: string;
  language: 'ru' | 'en';
  actual: SeriesRow[];
  forecast?: ForecastDoc;
}): Figure {
  const t = TEXT[options.language];
  const x = hourLabels(options.actual);
  const data: Record<string, unknown>[] = [
    { type: 'bar', name: t.actual, x, y: options.actual.map((r) => r.messages), marker: { color: '#2b7bba' } },
  ];
  if (options.forecast) {
    const byStart = new Map(options.forecast.hours.map((h) => [h.start, h]));
    const pick = (key: 'median' | 'lo' | 'hi') => options.actual.map((r) => byStart.get(r.start)?.[key] ?? null);
    data.unshift(...band(x, pick('lo'), pick('hi'), t.band, 'rgba(228, 87, 46, 0.15)'));
    data.push({ type: 'scatter', mode: 'lines+markers', name: t.forecastMade, x, y: pick('median'), line: { color: '#e4572e', width: 3 } });
  }
  const total = options.actual.reduce((s, r) => s + r.messages, 0);
  return {
    data,
    layout: layout(
      t.actualTitle(options.title, options.day, options.zone),
      t.totals(total, options.forecast?.total ?? null),
      options.zone,
      options.language,
    ),
  };
}

// The 80% band as a shaded area between two invisible lines.
function band(x: string[], lo: (number | null)[], hi: (number | null)[], name: string, colour: string): Record<string, unknown>[] {
  return [
    { type: 'scatter', mode: 'lines', x, y: lo, line: { width: 0, shape: 'hvh' }, hoverinfo: 'skip', showlegend: false },
    { type: 'scatter', mode: 'lines', x, y: hi, fill: 'tonexty', fillcolor: colour, line: { width: 0, shape: 'hvh' }, name },
  ];
}

// Today's forecast: the median hour by hour, the mean, and the 80% band.
export function forecastFigure(options: { title: string; zone: string; language: 'ru' | 'en'; forecast: ForecastDoc }): Figure {
  const t = TEXT[options.language];
  const f = options.forecast;
  const x = hourLabels(f.hours);
  return {
    data: [
      ...band(x, f.hours.map((h) => h.lo), f.hours.map((h) => h.hi), t.band, 'rgba(240, 162, 2, 0.25)'),
      { type: 'bar', name: t.forecast, x, y: f.hours.map((h) => h.median), marker: { color: '#f0a202' } },
      { type: 'scatter', mode: 'lines', name: t.mean, x, y: f.hours.map((h) => h.mean), line: { color: '#8a5a00', width: 2, dash: 'dot' } },
    ],
    layout: layout(t.forecastTitle(options.title, f.day, options.zone), t.expected(f.total, f.peak.local), options.zone, options.language),
  };
}

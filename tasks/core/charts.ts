import type { ForecastDoc } from './forecast.js';
import type { SeriesRow } from './series.js';
import { messages } from './caption.js';

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
    forecastMade: 'Ожидалось накануне (среднее)',
    expectedLine: 'Ожидается (среднее)',
    band: '80% интервал',
    skipped: (zone: string) => `Этой даты в ${zone} не было: часы перевели через неё`,
    totals: (actual: number, forecast: number | null, range: [number, number] | null) =>
      `Всего: ${actual}` + (forecast === null ? ' · прогноза на этот день не было' : ` · ожидалось ≈ ${Math.round(forecast)}${range ? ` (80%: ${Math.round(range[0])}–${Math.round(range[1])})` : ''}`),
    expected: (total: number, range: [number, number] | null, peak: string) =>
      `Ожидается ≈ ${messages(Math.round(total))}${range ? ` (80%: ${Math.round(range[0])}–${Math.round(range[1])})` : ''} · пик около ${peak}`,
  },
  en: {
    actualTitle: (title: string, day: string, zone: string) => `${title}: messages per hour, ${day} (${zone})`,
    forecastTitle: (title: string, day: string, zone: string) => `${title}: forecast for ${day} (${zone})`,
    hour: (zone: string) => `Hour (${zone})`,
    messages: 'Messages per hour',
    actual: 'Actual',
    forecastMade: 'Expected the day before (mean)',
    expectedLine: 'Expected (mean)',
    band: '80% band',
    skipped: (zone: string) => `This date did not happen in ${zone}: the clocks skipped it`,
    totals: (actual: number, forecast: number | null, range: [number, number] | null) =>
      `Total: ${actual}` + (forecast === null ? ' · no forecast was made for this day' : ` · expected ≈ ${Math.round(forecast)}${range ? ` (80%: ${Math.round(range[0])}–${Math.round(range[1])})` : ''}`),
    expected: (total: number, range: [number, number] | null, peak: string) =>
      `Expected ≈ ${Math.round(total)} messages${range ? ` (80%: ${Math.round(range[0])}–${Math.round(range[1])})` : ''} · peak around ${peak}`,
  },
} as const;

// Hour labels on the chat's clock; on the night the clocks go back the repeated hour shows its offset.
// These are the x values (plotly's categories, so they must be unique) and what a tracker's hover shows.
export function hourLabels(hours: { local: string; offset: string }[]): string[] {
  const seen = repeats(hours);
  return hours.map((h) => (seen.get(h.local)! > 1 ? `${h.local} (UTC${h.offset})` : h.local));
}

// What the x axis writes under each hour: the clock time, and for a repeated hour a short offset
// ("02:00 UTC+2", "02:00 UTC+1"), so every label is unique and short enough to stand slanted in the
// chart's margin without crowding its neighbours.
export function hourTicks(hours: { local: string; offset: string }[]): string[] {
  const seen = repeats(hours);
  return hours.map((h) => (seen.get(h.local)! > 1 ? `${h.local} ${shortOffset(h.offset)}` : h.local));
}

function repeats(hours: { local: string }[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const h of hours) seen.set(h.local, (seen.get(h.local) ?? 0) + 1);
  return seen;
}

// ±HH:mm as people write it on a clock: UTC+2, UTC−5, UTC+5:30.
function shortOffset(offset: string): string {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (!m) return `UTC${offset}`;
  return `UTC${m[1] === '-' ? '\u2212' : '+'}${Number(m[2])}${m[3] === '00' ? '' : `:${m[3]}`}`;
}

const FONT = { family: 'DejaVu Sans, Noto Sans, Arial, sans-serif', size: 14, color: '#222' };

function layout(title: string, subtitle: string, zone: string, language: 'ru' | 'en', top: number, hours: { local: string; offset: string }[]): Record<string, unknown> {
  const t = TEXT[language];
  const ticks = hourTicks(hours);
  // Slanted hour labels need room below the axis; the repeated autumn hour's label is the longest.
  const longest = Math.max(5, ...ticks.map((l) => l.length));
  return {
    title: { text: `${title}<br><span style="font-size:13px">${subtitle}</span>`, x: 0.02, xanchor: 'left' },
    font: FONT,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 70, r: 30, t: 90, b: 50 + Math.ceil(longest * 5.5) },
    // Every hour gets its tick and its own text (plotly would thin crowded ticks out, dropping hours);
    // automargin widens a margin only if a slanted label would still be cut at the chart's edge.
    xaxis: {
      title: { text: t.hour(zone) },
      type: 'category',
      tickmode: 'array',
      tickvals: hourLabels(hours),
      ticktext: ticks,
      tickangle: -45,
      gridcolor: '#eee',
      automargin: true,
    },
    // Never flatter than one message: a quiet day's expected 0.3 an hour still shows as a line above 0.
    yaxis: { title: { text: t.messages }, range: [0, Math.max(1, top) * 1.12], gridcolor: '#eee', zeroline: true },
    legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
    bargap: 0.15,
    showlegend: true,
  };
}

const peakOf = (...series: (number | null)[][]) => Math.max(0, ...series.flat().filter((v): v is number => v !== null));

// Yesterday's hours as bars, against the mean and the 80% band that had been forecast for them.
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
  const bars = options.actual.map((r) => r.messages);
  const data: Record<string, unknown>[] = [{ type: 'bar', name: t.actual, x, y: bars, marker: { color: '#2b7bba' }, opacity: 0.85, zorder: 0 }];
  let top = peakOf(bars);
  if (options.forecast) {
    const byStart = new Map(options.forecast.hours.map((h) => [h.start, h]));
    const pick = (key: 'mean' | 'lo' | 'hi') => options.actual.map((r) => byStart.get(r.start)?.[key] ?? null);
    data.unshift(...band(x, pick('lo'), pick('hi'), t.band, 'rgba(228, 87, 46, 0.18)', 'rgba(228, 87, 46, 0.55)'));
    data.push({ type: 'scatter', mode: 'lines+markers', name: t.forecastMade, x, y: pick('mean'), line: { color: '#c2410c', width: 3 }, marker: { size: 6 }, zorder: 1 });
    top = Math.max(top, peakOf(pick('hi'), pick('mean')));
  }
  const total = bars.reduce((s, v) => s + v, 0);
  return {
    data,
    layout: layout(
      t.actualTitle(options.title, options.day, options.zone),
      options.actual.length === 0 ? t.skipped(options.zone) : t.totals(total, options.forecast?.total ?? null, options.forecast?.total_range ?? null),
      options.zone,
      options.language,
      top,
      options.actual,
    ),
  };
}

// The 80% band as a shaded area between two lines (its edges drawn thin, so a band of zero height
// still shows where it lies), behind the bars and the line.
function band(x: string[], lo: (number | null)[], hi: (number | null)[], name: string, colour: string, edge: string): Record<string, unknown>[] {
  return [
    { type: 'scatter', mode: 'lines', x, y: lo, line: { width: 1, color: edge, shape: 'hvh' }, hoverinfo: 'skip', showlegend: false, legendgroup: 'band', zorder: -1 },
    { type: 'scatter', mode: 'lines', x, y: hi, fill: 'tonexty', fillcolor: colour, line: { width: 1, color: edge, shape: 'hvh' }, name, legendgroup: 'band', zorder: -1 },
  ];
}

// Today's forecast: the expected count (the mean) hour by hour as the line, the 80% band shaded.
export function forecastFigure(options: { title: string; zone: string; language: 'ru' | 'en'; forecast: ForecastDoc }): Figure {
  const t = TEXT[options.language];
  const f = options.forecast;
  const x = hourLabels(f.hours);
  const mean = f.hours.map((h) => h.mean);
  const hi = f.hours.map((h) => h.hi);
  return {
    data: [
      ...band(x, f.hours.map((h) => h.lo), hi, t.band, 'rgba(240, 162, 2, 0.3)', 'rgba(196, 128, 0, 0.6)'),
      { type: 'scatter', mode: 'lines+markers', name: t.expectedLine, x, y: mean, line: { color: '#8a5a00', width: 3 }, marker: { size: 6 }, zorder: 1 },
    ],
    layout: layout(t.forecastTitle(options.title, f.day, options.zone), t.expected(f.total, f.total_range, f.peak.local), options.zone, options.language, peakOf(mean, hi), f.hours),
  };
}

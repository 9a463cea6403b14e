import type { TrackedDay } from './tracking.js';
import { formatTsv, parseTsv } from './tsv.js';
import * as aq from 'arquero';

// track/history.tsv: one row per tracked day, the columns `dvc plots` draws (see dvc.yaml).
export const TRACK_COLUMNS = [
  'day',
  'step',
  'status',
  'smape',
  'naive_smape',
  'mae',
  'naive_mae',
  'rmse',
  'naive_rmse',
  'mase',
  'pinball',
  'coverage80',
  'actual_total',
  'forecast_total',
  'next_total',
  'next_total_lo',
  'next_total_hi',
  'model',
] as const;
export type TrackRow = Record<(typeof TRACK_COLUMNS)[number], string | number | null>;

// The history row of a tracked day.
export function trackRow(day: TrackedDay): TrackRow {
  const m = (key: string) => day.metrics[key] ?? null;
  return {
    day: day.day,
    step: day.step,
    status: day.status,
    smape: m('smape'),
    naive_smape: m('naive_smape'),
    mae: m('mae'),
    naive_mae: m('naive_mae'),
    rmse: m('rmse'),
    naive_rmse: m('naive_rmse'),
    mase: m('mase'),
    pinball: m('pinball'),
    coverage80: m('coverage80'),
    actual_total: m('actual_total'),
    forecast_total: m('forecast_total'),
    next_total: m('next_total'),
    next_total_lo: m('next_total_lo'),
    next_total_hi: m('next_total_hi'),
    model: day.params['model.name'] ?? '',
  };
}

// Reads track/history.tsv (empty cells are scores the day did not have).
export function parseTrackHistory(content: string, file: string): TrackRow[] {
  const num = (v: string) => (v === '' ? null : Number(v));
  const parsers = Object.fromEntries(TRACK_COLUMNS.filter((c) => c !== 'day' && c !== 'status' && c !== 'model').map((c) => [c, num]));
  return parseTsv(content, file, TRACK_COLUMNS, parsers).objects() as TrackRow[];
}

// Replaces or adds the rows of the given days and writes the file's text, sorted by day.
export function upsertTrackHistory(rows: TrackRow[], added: TrackRow[]): string {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  for (const row of added) byDay.set(row.day, row);
  const sorted = [...byDay.values()].sort((a, b) => String(a.day).localeCompare(String(b.day)));
  return formatTsv(aq.from(sorted), TRACK_COLUMNS);
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface Line {
  name: string;
  values: (number | null)[];
  colour: string;
  dash?: boolean;
}

// One line chart as inline SVG: drawn here, so the page needs no script and no network.
function svgChart(title: string, days: string[], lines: Line[], band?: { lo: (number | null)[]; hi: (number | null)[]; name: string }): string {
  const [w, h, left, right, top, bottom] = [560, 250, 56, 28, 34, 46];
  const all = [...lines.flatMap((l) => l.values), ...(band ? [...band.lo, ...band.hi] : [])].filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...all) * 1.08;
  const x = (i: number) => left + (days.length <= 1 ? (w - left - right) / 2 : (i * (w - left - right)) / (days.length - 1));
  const y = (v: number) => top + (h - top - bottom) * (1 - v / max);
  const path = (values: (number | null)[]) => {
    let d = '';
    values.forEach((v, i) => {
      if (v !== null) d += `${i === 0 || values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
    });
    return d.trim();
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max / 1.08);
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escape(title)}">`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
    ...ticks.map((t) => `<line x1="${left}" x2="${w - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${Number(t.toPrecision(3))}</text>`),
    ...days.map((d, i) => (i % labelEvery === 0 || i === days.length - 1 ? `<text x="${x(i).toFixed(1)}" y="${h - bottom + 16}" font-size="10" text-anchor="middle">${d.slice(5)}</text>` : '')),
  ];
  if (band) {
    const edge = (values: (number | null)[], other: (number | null)[]) => values.map((v, i) => (v === null || other[i] === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`));
    const upper = edge(band.hi, band.lo);
    const lower = edge(band.lo, band.hi);
    const pts = [...upper.filter(Boolean), ...lower.filter(Boolean).reverse()];
    if (pts.length > 2) parts.push(`<polygon points="${pts.join(' ')}" fill="rgba(240,162,2,0.25)" stroke="none"><title>${escape(band.name)}</title></polygon>`);
  }
  for (const line of lines) {
    parts.push(`<path d="${path(line.values)}" fill="none" stroke="${line.colour}" stroke-width="2"${line.dash ? ' stroke-dasharray="5 4"' : ''}/>`);
    line.values.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${line.colour}"><title>${days[i]}: ${line.name} ${v}</title></circle>`);
    });
  }
  const legend = [...lines.map((l) => ({ name: l.name, colour: l.colour, dash: l.dash })), ...(band ? [{ name: band.name, colour: 'rgba(240,162,2,0.5)', dash: false }] : [])];
  legend.forEach((l, i) => {
    const lx = left + i * 150;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${h - 10}" y2="${h - 10}" stroke="${l.colour}" stroke-width="3"${l.dash ? ' stroke-dasharray="5 4"' : ''}/><text x="${lx + 22}" y="${h - 6}" font-size="11">${escape(l.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

// track/index.html: the chat's whole tracked history on one page that opens offline (inline SVG and
// CSS, no script, no CDN), with each day's links to the trackers that have it.
export function historyPage(options: { title: string; chat: string; timezone: string; rows: TrackRow[]; links: Record<string, { tracker: string; url: string }[]> }): string {
  const rows = options.rows;
  const days = rows.map((r) => String(r.day));
  const col = (key: keyof TrackRow) => rows.map((r) => (typeof r[key] === 'number' ? (r[key] as number) : null));
  const charts = [
    svgChart('Messages per day: actual and forecast', days, [
      { name: 'actual', values: col('actual_total'), colour: '#2b7bba' },
      { name: 'forecast (mean)', values: col('forecast_total'), colour: '#c2410c' },
    ]),
    svgChart('sMAPE: chatcast vs same hour yesterday', days, [
      { name: 'chatcast', values: col('smape'), colour: '#c2410c' },
      { name: 'naive', values: col('naive_smape'), colour: '#666', dash: true },
    ]),
    svgChart('MAE: chatcast vs same hour yesterday', days, [
      { name: 'chatcast', values: col('mae'), colour: '#c2410c' },
      { name: 'naive', values: col('naive_mae'), colour: '#666', dash: true },
    ]),
    svgChart('RMSE: chatcast vs same hour yesterday', days, [
      { name: 'chatcast', values: col('rmse'), colour: '#c2410c' },
      { name: 'naive', values: col('naive_rmse'), colour: '#666', dash: true },
    ]),
    svgChart('MASE and pinball loss', days, [
      { name: 'MASE', values: col('mase'), colour: '#7c3aed' },
      { name: 'pinball', values: col('pinball'), colour: '#059669' },
    ]),
    svgChart('Share of hours inside the 80% band', days, [{ name: 'coverage', values: col('coverage80'), colour: '#0f766e' }]),
  ];
  const cell = (v: string | number | null) => `<td>${v === null ? '' : escape(String(v))}</td>`;
  const table = rows
    .slice()
    .reverse()
    .map((r) => {
      const links = (options.links[String(r.day)] ?? []).map((l) => `<a href="${escape(l.url)}">${escape(l.tracker)}</a>`).join(' ');
      return `<tr>${[r.day, r.actual_total, r.forecast_total, r.smape, r.naive_smape, r.mae, r.naive_mae, r.rmse, r.mase, r.pinball, r.coverage80, r.model].map(cell).join('')}<td>${links}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chatcast: ${escape(options.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222}.charts{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;font-size:13px;margin-top:16px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}th{background:#f4f4f4}</style>
</head><body>
<h1>${escape(options.title)}</h1>
<p>Chat <code>${escape(options.chat)}</code>, days in ${escape(options.timezone)}: ${rows.length} tracked day${rows.length === 1 ? '' : 's'}${rows.length ? `, ${escape(days[0])} to ${escape(days.at(-1)!)}` : ''}.</p>
<div class="charts">${charts.join('\n')}</div>
<table><thead><tr><th>day</th><th>actual</th><th>forecast</th><th>sMAPE</th><th>naive sMAPE</th><th>MAE</th><th>naive MAE</th><th>RMSE</th><th>MASE</th><th>pinball</th><th>coverage</th><th>model</th><th>trackers</th></tr></thead>
<tbody>
${table}
</tbody></table>
</body></html>
`;
}

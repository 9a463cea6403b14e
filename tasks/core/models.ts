import { ChatcastError } from './errors.js';
import { directKnn, recursiveKnn, type Forecasts, type KnnParams } from './knn.js';

// The baselines every model must beat.
export const BASELINES = ['zeros', 'naive_day', 'naive_week', 'median_7d', 'mean_14d'] as const;
export type Baseline = (typeof BASELINES)[number];

// A forecaster: one of the KNNs with its parameters, or a baseline.
export type ModelSpec = KnnParams | { model: Baseline };

// numpy's default ("linear") quantile of a sorted sample.
export function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

// Point forecasts with no spread: median = mean = both band ends.
function points(rows: Float32Array[]): Forecasts {
  return { median: rows, mean: rows, lo: rows, hi: rows };
}

// The same hour on each of the `days` previous days, summarised; the band spans their 10%–90%.
function pastDays(values: Float32Array, origins: number[], horizon: number, days: number, point: 'median' | 'mean'): Forecasts {
  const out: Forecasts = { median: [], mean: [], lo: [], hi: [] };
  for (const o of origins) {
    const summary = { median: new Float32Array(horizon), mean: new Float32Array(horizon), lo: new Float32Array(horizon), hi: new Float32Array(horizon) };
    for (let h = 0; h < horizon; h++) {
      const sample = Array.from({ length: days }, (_, d) => values[o - 24 * (d + 1) + (h % 24)]).sort((a, b) => a - b);
      const centre = point === 'median' ? quantile(sample, 0.5) : sample.reduce((s, v) => s + v, 0) / days;
      summary.median[h] = centre;
      summary.mean[h] = centre;
      // The band holds the point forecast: a mean can lie above the 90% quantile of a sparse sample.
      summary.lo[h] = Math.min(centre, quantile(sample, 0.1));
      summary.hi[h] = Math.max(centre, quantile(sample, 0.9));
    }
    for (const key of ['median', 'mean', 'lo', 'hi'] as const) out[key].push(summary[key]);
  }
  return out;
}

// Hours of history a model needs before an origin.
export function historyNeeded(spec: ModelSpec): number {
  switch (spec.model) {
    case 'knn_recursive':
      return spec.window + spec.k;
    case 'knn_direct':
      return spec.window + 24;
    case 'zeros':
      return 0;
    case 'naive_day':
      return 24;
    case 'naive_week':
      return 168;
    case 'median_7d':
      return 24 * 7;
    case 'mean_14d':
      return 24 * 14;
  }
}

// Forecasts `horizon` hours from each origin (an index into `values`; only values before it are used).
// `anchors` are the indices where chat days start (the direct KNN's candidate days).
export function forecastOrigins(spec: ModelSpec, values: Float32Array, origins: number[], anchors: number[], horizon: number): Forecasts {
  const need = historyNeeded(spec);
  const short = origins.find((o) => o < need);
  if (short !== undefined) {
    throw new ChatcastError('STATE', `Model ${spec.model} needs ${need} hours of history before an origin, got ${short}`);
  }
  switch (spec.model) {
    case 'knn_recursive':
      return points(recursiveKnn(values, origins, horizon, spec));
    case 'knn_direct':
      return directKnn(values, origins, anchors, horizon, spec);
    case 'zeros':
      return points(origins.map(() => new Float32Array(horizon)));
    case 'naive_day':
      return points(origins.map((o) => Float32Array.from({ length: horizon }, (_, h) => values[o - 24 + (h % 24)])));
    case 'naive_week':
      return points(origins.map((o) => Float32Array.from({ length: horizon }, (_, h) => values[o - 168 + (h % 168)])));
    case 'median_7d':
      return pastDays(values, origins, horizon, 7, 'median');
    case 'mean_14d':
      return pastDays(values, origins, horizon, 14, 'mean');
  }
}

import * as tf from '@tensorflow/tfjs';
import { ChatcastError } from './errors.js';

// The original system's model: for each hour, the value that followed the nearest past pattern of
// `window` hours, fed back as input for the next hour (recursive strategy).
export interface RecursiveKnnParams {
  model: 'knn_recursive';
  k: number;
  window: number;
}

// chatcast's default: the `k` past days whose preceding `window` hours look most like the hours before
// the origin; their following hours, taken whole (direct, multi-horizon), give median, mean and band.
export interface DirectKnnParams {
  model: 'knn_direct';
  k: number;
  window: number;
  transform: 'log1p' | 'none'; // distances on log(1 + count): a burst does not drown the rhythm
  band: [number, number]; // quantiles of the neighbours' hours that form the 80% band
}

// Either forecaster, as params.yaml's train section describes it.
export type KnnParams = RecursiveKnnParams | DirectKnnParams;

// The original system's settings.
export const SEED_KNN: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 168 };

// Per origin, per hour: the forecast distribution's median, mean and 80% band.
export interface Forecasts {
  median: Float32Array[];
  mean: Float32Array[];
  lo: Float32Array[];
  hi: Float32Array[];
}

const FAR = 1e30;
// Origins per batch of the recursive KNN: small enough that early origins skip later patterns,
// large enough that each matrix product stays big.
const CHUNK = 100;

// 0 where a pattern may be used for an origin (its index below the row's limit), −FAR after.
function maskAfter(limits: number[], columns: number): tf.Tensor2D {
  const mask = new Float32Array(limits.length * columns);
  limits.forEach((limit, row) => mask.fill(-FAR, row * columns + Math.max(0, Math.min(columns, limit)), (row + 1) * columns));
  return tf.tensor2d(mask, [limits.length, columns]);
}

// The k best columns of each row; for k = 1 argMax, which also returns the first of equal maxima.
function nearest(score: tf.Tensor, k: number): tf.Tensor2D {
  return (k === 1 ? tf.argMax(score, 1).reshape([-1, 1]) : tf.topk(score, k).indices) as tf.Tensor2D;
}

// The windows of `values` ending just before each origin, as one [origins, window] tensor.
function windowsBefore(values: Float32Array, ends: number[], window: number, transform?: (v: number) => number): tf.Tensor2D {
  const out = new Float32Array(ends.length * window);
  ends.forEach((end, row) => {
    for (let i = 0; i < window; i++) {
      const v = values[end - window + i];
      out[row * window + i] = transform ? transform(v) : v;
    }
  });
  return tf.tensor2d(out, [ends.length, window]);
}

function checkOrigins(values: Float32Array, origins: number[], need: number, what: string): void {
  for (const o of origins) {
    if (!Number.isInteger(o) || o < need || o > values.length) {
      throw new ChatcastError('STATE', `${what} needs at least ${need} hours before each origin, got an origin at hour ${o} of ${values.length}`);
    }
  }
}

// The recursive KNN for many origins at once: every origin's query is a row of one matrix, and the
// dot products of all queries with all patterns come from one matrix product. Each further hour
// shifts the query by one value, so its products follow from the previous hour's by a shift and two
// rank-1 corrections (dot(p[j+1], q') = dot(p[j], q) − y[j]·q[0] + y[j+window]·next), not another
// product over the whole window. Patterns that end at or after an origin are masked out for it (no
// leakage); ties go to the earliest pattern (topk returns the lower index first).
export function recursiveKnn(values: Float32Array, origins: number[], horizon: number, params: RecursiveKnnParams, chunk = CHUNK): Float32Array[] {
  checkOrigins(values, origins, params.window + params.k, `KNN with window ${params.window} and k ${params.k}`);
  // Origins in time order and in chunks: a chunk of early origins multiplies against fewer patterns.
  const order = origins.map((o, i) => [o, i]).sort((a, b) => a[0] - b[0]);
  const out: Float32Array[] = new Array(origins.length);
  for (let start = 0; start < order.length; start += chunk) {
    const part = order.slice(start, start + chunk);
    recursiveChunk(values, part.map(([o]) => o), horizon, params).forEach((f, i) => (out[part[i][1]] = f));
  }
  return out;
}

function recursiveChunk(values: Float32Array, origins: number[], horizon: number, params: RecursiveKnnParams): Float32Array[] {
  const { window, k } = params;
  const last = Math.max(...origins);
  const patternsCount = last - window; // pattern j = values[j, j+window), its target values[j+window] < last
  const result = tf.tidy(() => {
    const series = tf.tensor1d(values.subarray(0, last));
    const frames = tf.signal.frame(series.slice(0, last - 1), window, 1) as tf.Tensor2D;
    // 2·pᵀ as [window, patterns]: wasm multiplies by a plain matrix ten times faster than by a transposed one.
    const patterns = frames.transpose().mul(2);
    const first = patterns.slice([0, 0], [window, 1]);
    const targets = series.slice(window, patternsCount);
    // Row 0: −2·y[j], the value leaving pattern j as it becomes j+1; row 1: 2·y[j+window], the value entering.
    const shift = tf.stack([series.slice(0, patternsCount - 1).mul(-2), targets.slice(0, patternsCount - 1).mul(2)]);
    // −‖p − q‖² = 2·p·q − ‖p‖² − ‖q‖²; ‖q‖² is the same for every pattern of a query.
    const bias = maskAfter(origins.map((o) => o - window), patternsCount).sub(frames.square().sum(1).reshape([1, -1]));
    let query = windowsBefore(values, origins, window);
    let dots = tf.matMul(query, patterns); // 2·p·q for every origin and pattern
    const steps: tf.Tensor[] = [];
    for (let step = 0; step < horizon; step++) {
      const indices = nearest(dots.add(bias), k);
      const next = tf.gather(targets, indices).mean(1).reshape([-1, 1]);
      steps.push(next);
      if (step === horizon - 1) break;
      const leaving = query.slice([0, 0], [-1, 1]);
      const shifted = tf.matMul(tf.concat([leaving, next], 1), shift).add(dots.slice([0, 0], [-1, patternsCount - 1]));
      query = tf.concat([query.slice([0, 1], [-1, window - 1]), next], 1) as tf.Tensor2D;
      dots = tf.concat([tf.matMul(query, first), shifted], 1);
    }
    return tf.concat(steps, 1).relu();
  });
  const flat = result.dataSync() as Float32Array;
  result.dispose();
  return origins.map((_, i) => Float32Array.from(flat.subarray(i * horizon, (i + 1) * horizon)));
}

// The direct KNN for many origins at once. `anchors` are the indices where chat days start; a day is a
// candidate for an origin when its window and its following `horizon` hours all lie before that origin.
// Neighbours are ranked by one matrix product per group of origins with the same number of candidates.
export function directKnn(values: Float32Array, origins: number[], anchors: number[], horizon: number, params: DirectKnnParams): Forecasts {
  const { window, k } = params;
  const transform = params.transform === 'log1p' ? Math.log1p : undefined;
  const candidates = anchors.filter((s) => s >= window && s + horizon <= values.length).sort((a, b) => a - b);
  checkOrigins(values, origins, window, `KNN with window ${window}`);
  const usable = (o: number) => candidates.filter((s) => s + horizon <= o).length;
  const out: Forecasts = { median: [], mean: [], lo: [], hi: [] };
  const byK = new Map<number, number[]>();
  origins.forEach((o, i) => {
    const kk = Math.min(k, usable(o));
    if (kk < 1) throw new ChatcastError('STATE', `No past day of ${horizon} hours before the origin at hour ${o}: the direct KNN needs at least one`);
    byK.set(kk, [...(byK.get(kk) ?? []), i]);
  });
  for (const [kk, rows] of byK) {
    const group = rows.map((i) => origins[i]);
    const stats = tf.tidy(() => {
      const windows = windowsBefore(values, candidates, window, transform);
      const patterns = windows.transpose();
      const futures = tf.tensor2d(
        Float32Array.from({ length: candidates.length * horizon }, (_, i) => values[candidates[Math.floor(i / horizon)] + (i % horizon)]),
        [candidates.length, horizon],
      );
      const norms = windows.square().sum(1).reshape([1, -1]);
      // Candidate days are sorted, so each origin may use a prefix of them.
      const penalty = maskAfter(group.map((o) => candidates.filter((s) => s + horizon <= o).length), candidates.length);
      const query = windowsBefore(values, group, window, transform);
      const score = tf.matMul(query, patterns).mul(2).sub(norms).add(penalty);
      const indices = nearest(score, kk);
      const neighbours = tf.gather(futures, indices).transpose([0, 2, 1]); // [origins, horizon, k]
      const sorted = tf.topk(neighbours, kk).values; // descending along k
      const at = (q: number) => {
        const position = (kk - 1) * (1 - q); // numpy's "linear" quantile, counted from the top
        const below = Math.floor(position);
        const above = Math.min(kk - 1, below + 1);
        const weight = position - below;
        const a = sorted.slice([0, 0, below], [-1, -1, 1]);
        const b = sorted.slice([0, 0, above], [-1, -1, 1]);
        return a.mul(1 - weight).add(b.mul(weight)).squeeze([2]);
      };
      return tf.stack([at(0.5), neighbours.mean(2), at(params.band[0]), at(params.band[1])]);
    });
    const flat = stats.dataSync() as Float32Array;
    stats.dispose();
    const block = group.length * horizon;
    rows.forEach((originIndex, r) => {
      const slice = (s: number) => Float32Array.from(flat.subarray(s * block + r * horizon, s * block + (r + 1) * horizon));
      out.median[originIndex] = slice(0);
      out.mean[originIndex] = slice(1);
      out.lo[originIndex] = slice(2);
      out.hi[originIndex] = slice(3);
    });
  }
  return out;
}

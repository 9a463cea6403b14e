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

// x[row, idx[row, i]] for every row: a flat gather (wasm's batched gather breaks on large tensors).
function pick(x: tf.Tensor, idx: tf.Tensor): tf.Tensor2D {
  const [rows, width] = x.shape as [number, number];
  const offsets = tf.range(0, rows * width, width, 'int32').reshape([-1, 1]);
  return tf.gather(x.reshape([-1]), idx.toInt().add(offsets)) as tf.Tensor2D;
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

// The recursive KNN for many origins at once. Every origin's query is a row of one matrix, and one
// matrix product scores all queries against all patterns. After each forecast hour the query moves on
// by one value, and so does the pattern each score belongs to: score(p[j+1], q') follows from
// score(p[j], q) by a rank-3 correction, −2·y[j]·q[0] + 2·y[j+window]·next + y[j]² − y[j+window]²,
// one small matrix product added to the score matrix in place. A column thus follows one lineage of
// patterns (j = column − horizon + hour; zero-padded windows before the series start become real
// patterns as the hours pass), so nothing is copied or shifted. Patterns that end at or after an
// origin never count for it (no leakage); the few columns whose usability changes during the horizon
// (the first `horizon`, and `horizon − 1` at each origin's edge) are scored in a small side matrix.
// Ties go to the earliest pattern (topk and argMax return the lower index first; parts are ordered by j).
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

function recursiveChunk(values: Float32Array, origins: number[], steps: number, params: RecursiveKnnParams): Float32Array[] {
  const { window, k } = params;
  const P = steps;
  const B = origins.length;
  const last = Math.max(...origins);
  const M = last - window; // real patterns j ∈ [0, M): values[j, j+window), target values[j+window] < last
  const C = M + P; // column c holds pattern j = c − P + hour
  const edge = origins.map((o) => o - window + 1); // from this column on, a pattern is usable only early on
  // Columns whose usability changes: the prefix [0, P) (zero-padded, then real) and each row's edge band.
  const prefixCols = Int32Array.from({ length: B * P }, (_, i) => i % P);
  const bandCols = Int32Array.from({ length: B * (P - 1) }, (_, i) => edge[Math.floor(i / (P - 1))] + (i % (P - 1)));
  const result = tf.tidy(() => {
    // y with P zeros in front and P zeros after: index P + t holds values[t].
    const padded = tf.concat([tf.zeros([P]), tf.tensor1d(values.subarray(0, last)), tf.zeros([P + window])]);
    // Patterns as columns, [window, C]: row t holds the t-th value of every pattern (column c: pattern c − P).
    const patterns = tf.stack(Array.from({ length: window }, (_, t) => padded.slice(t, C)));
    const targetOf = padded.slice(window, C + P); // at c': y[c' − P + window], after pattern c' − P
    const leavingOf = padded.slice(0, C + P); // at c': y[c' − P], the first value of pattern c' − P
    // The correction of column c at hour h uses pattern j = c − P + h: rows of `table` at c + h.
    const table = tf.stack([leavingOf.mul(-2), targetOf.mul(2), leavingOf.square().sub(targetOf.square())]); // [3, C + P]
    let query = windowsBefore(values, origins, window);
    const score0 = tf.matMul(query, patterns.mul(2)).sub(patterns.square().sum(0).reshape([1, -1])); // 2·p·q − ‖p‖²
    const staticMask = new Float32Array(B * C);
    edge.forEach((e, row) => {
      staticMask.fill(-FAR, row * C, row * C + P);
      staticMask.fill(-FAR, row * C + Math.max(P, Math.min(C, e)), (row + 1) * C);
    });
    let main: tf.Tensor = score0.add(tf.tensor2d(staticMask, [B, C]));
    const prefixIdx = tf.tensor2d(prefixCols, [B, P], 'int32');
    const bandIdx = tf.tensor2d(bandCols.map((c) => Math.min(c, C - 1)), [B, P - 1], 'int32');
    let prefix = pick(score0, prefixIdx);
    let band: tf.Tensor = P > 1 ? pick(score0, bandIdx) : tf.zeros([B, 0]);
    const forecasts: tf.Tensor[] = [];
    for (let h = 0; h < P; h++) {
      // Which side columns a pattern may be taken from at this hour: P − h ≤ c < origin − window + P − h.
      const usable = (cols: Int32Array, width: number) =>
        tf.tensor2d(
          Float32Array.from(cols, (c, i) => (c >= P - h && c < origins[Math.floor(i / width)] - window + P - h ? 0 : -FAR)),
          [B, width],
        );
      const parts = [
        { score: prefix.add(usable(prefixCols, P)), cols: prefixIdx },
        { score: main, cols: undefined },
        ...(P > 1 ? [{ score: band.add(usable(bandCols, P - 1)), cols: bandIdx }] : []),
      ];
      // The k best of each part, in the order of their patterns, then the k best of those.
      const picked = parts.map(({ score, cols }) => {
        const kk = Math.min(k, score.shape[1]!);
        const local = nearest(score, kk);
        // Column numbers travel as float32 (exact below 2²⁴) so they concatenate with each other.
        const columns = cols ? pick(cols.toFloat(), local) : local.toFloat();
        return { values: pick(score, local), columns };
      });
      const values = tf.concat(picked.map((p) => p.values), 1);
      const columns = tf.concat(picked.map((p) => p.columns), 1);
      const best = pick(columns, nearest(values, k)).add(h).toInt(); // [B, k]: column + hour
      const next = tf.gather(targetOf, best).mean(1).reshape([-1, 1]); // the value after pattern c − P + h
      forecasts.push(next);
      if (h === P - 1) break;
      const coeffs = tf.concat([query.slice([0, 0], [-1, 1]), next, tf.ones([B, 1])], 1);
      const rows = table.slice([0, h], [3, C]);
      const updated = main.add(tf.matMul(coeffs, rows));
      main.dispose(); // the score matrix is the big one: hold one at a time
      main = updated;
      const row = (r: number, idx: tf.Tensor2D) => tf.gather(rows.slice([r, 0], [1, -1]).reshape([-1]), idx);
      const side = (idx: tf.Tensor2D, current: tf.Tensor) =>
        current.add(coeffs.slice([0, 0], [-1, 1]).mul(row(0, idx))).add(next.mul(row(1, idx))).add(row(2, idx));
      prefix = side(prefixIdx, prefix) as tf.Tensor2D;
      if (P > 1) band = side(bandIdx, band);
      query = tf.concat([query.slice([0, 1], [-1, window - 1]), next], 1) as tf.Tensor2D;
    }
    return tf.concat(forecasts, 1).relu();
  });
  const flat = result.dataSync() as Float32Array;
  result.dispose();
  return origins.map((_, i) => Float32Array.from(flat.subarray(i * steps, (i + 1) * steps)));
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

import { tf } from './tfjs.js';
import { ChatcastError } from './errors.js';

// The original system's model: for each hour, the value that followed the nearest past pattern of
// `window` hours, fed back as input for the next hour (recursive strategy).
export interface RecursiveKnnParams {
  model: 'knn_recursive';
  k: number;
  window: number;
}

// The `k` past days whose preceding `window` hours look most like the hours before the origin; their
// hours, taken whole and matched by clock hour, form the forecast distribution (direct, multi-horizon).
export interface DirectKnnParams {
  model: 'knn_direct';
  k: number;
  window: number;
  transform: 'log1p' | 'none'; // distances on log(1 + count): a burst does not drown the rhythm
  level?: boolean; // rescale each neighbour day by the chat's last week against the week before it
  jitter?: number; // hours on either side of the clock hour a neighbour day also lends
}

// The original system's settings.
export const SEED_KNN: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 168 };

const FAR = 1e30;
// Origins per batch of the recursive KNN: small enough that early origins skip later patterns,
// large enough that each matrix product stays big.
const CHUNK = 100;

// The windows of `values` ending just before each origin, as one [origins, window] tensor.
function windowsBefore(values: Float64Array, ends: number[], window: number): tf.Tensor2D {
  const out = new Float32Array(ends.length * window);
  ends.forEach((end, row) => {
    for (let i = 0; i < window; i++) out[row * window + i] = values[end - window + i];
  });
  return tf.tensor2d(out, [ends.length, window]);
}

// x[row, idx[row, i]] for every row: a flat gather (wasm's batched gather breaks on large tensors).
function pick(x: tf.Tensor, idx: tf.Tensor): tf.Tensor2D {
  const [rows, width] = x.shape as [number, number];
  const offsets = tf.reshape(tf.range(0, rows * width, width, 'int32'), [-1, 1]);
  return tf.gather(tf.reshape(x, [-1]) as tf.Tensor, tf.add(tf.cast(idx, 'int32'), offsets)) as tf.Tensor2D;
}

// The series shifted by its mean (distances do not change), so float32 scores of large counts keep
// their precision; float64 for the exact re-ranking.
function centred(values: ArrayLike<number>, transform?: (v: number) => number): { exact: Float64Array; shifted: Float64Array; mean: number } {
  const exact = Float64Array.from(values, (v) => (transform ? transform(v) : v));
  const mean = exact.length ? exact.reduce((s, v) => s + v, 0) / exact.length : 0;
  return { exact, shifted: exact.map((v) => v - mean), mean };
}

// Squared Euclidean distance of two windows in float64.
function distance(a: Float64Array, aFrom: number, b: Float64Array, bFrom: number, window: number): number {
  let d = 0;
  for (let i = 0; i < window; i++) {
    const x = a[aFrom + i] - b[bFrom + i];
    d += x * x;
  }
  return d;
}

function checkOrigins(length: number, origins: number[], need: number, what: string): void {
  for (const o of origins) {
    if (!Number.isInteger(o) || o < need || o > length) {
      throw new ChatcastError('STATE', `${what} needs at least ${need} hours before each origin, got an origin at hour ${o} of ${length}`);
    }
  }
}

// The recursive KNN for many origins at once, `horizon` hours from each. Every origin's query is a
// row of one matrix, and one matrix product scores all queries against all patterns. After each
// forecast hour the query moves on by one value, and so does the pattern each score belongs to:
// score(p[j+1], q') follows from score(p[j], q) by a rank-3 correction, −2·y[j]·q[0] +
// 2·y[j+window]·next + y[j]² − y[j+window]², one small matrix product added to the score matrix.
// A column thus follows one lineage of patterns (j = column − horizon + hour), so nothing is copied
// or shifted. Patterns that end at or after an origin never count for it (no leakage); the few
// columns whose usability changes during the horizon are scored in a small side matrix. The float32
// scores only shortlist: the k nearest are then picked among the best k + MARGIN by exact float64
// distances, ties going to the earliest pattern as scikit-learn's brute force does. One score
// matrix is alive at a time, whatever the horizon.
export function recursiveKnn(values: ArrayLike<number>, origins: number[], horizon: number, params: RecursiveKnnParams, chunk = CHUNK): Float64Array[] {
  checkOrigins(values.length, origins, params.window + params.k, `KNN with window ${params.window} and k ${params.k}`);
  const series = centred(values);
  const order = origins.map((o, i) => [o, i]).sort((a, b) => a[0] - b[0]);
  const out: Float64Array[] = new Array(origins.length);
  for (let start = 0; start < order.length; start += chunk) {
    const part = order.slice(start, start + chunk);
    recursiveChunk(series, part.map(([o]) => o), horizon, params).forEach((f, i) => (out[part[i][1]] = f));
  }
  return out;
}

function recursiveChunk(series: { exact: Float64Array; shifted: Float64Array; mean: number }, origins: number[], steps: number, params: RecursiveKnnParams): Float64Array[] {
  const { window, k } = params;
  const { exact, shifted, mean } = series;
  const P = steps;
  const B = origins.length;
  const last = Math.max(...origins);
  const M = last - window; // real patterns j ∈ [0, M): values[j, j+window), target values[j+window] < last
  const C = M + P; // column c holds pattern j = c − P + hour
  const edge = origins.map((o) => o - window + 1);
  const prefixCols = Int32Array.from({ length: B * P }, (_, i) => i % P);
  const bandCols = Int32Array.from({ length: B * (P - 1) }, (_, i) => edge[Math.floor(i / (P - 1))] + (i % (P - 1)));
  // Each (centred) pattern's squared norm and the largest squared value, for the float32 error bound.
  // (Sized to every column's lineage, so no read falls outside it: such reads are slow in V8.)
  const patternNorm = new Float64Array(C + P);
  for (let j = 0; j + window <= last; j++) patternNorm[j] = j === 0 ? norm(shifted, 0, window) : patternNorm[j - 1] - shifted[j - 1] ** 2 + shifted[j + window - 1] ** 2;
  const top = shifted.subarray(0, last).reduce((m, v) => Math.max(m, v * v), 0);
  // Queries in float64, moved on by each forecast hour; forecasts are kept unclamped while they feed back.
  const queries = origins.map((o) => exact.slice(o - window, o));
  const forecasts = origins.map(() => new Float64Array(P));

  const state = tf.tidy(() => {
    const padded = tf.concat([tf.zeros([P]), tf.tensor1d(Float32Array.from(shifted.subarray(0, last))), tf.zeros([P + window])]);
    const patterns = tf.stack(Array.from({ length: window }, (_, t) => tf.slice(padded, t, C)));
    const targetOf = tf.slice(padded, window, C + P);
    const leavingOf = tf.slice(padded, 0, C + P);
    const table = tf.stack([tf.mul(leavingOf, -2), tf.mul(targetOf, 2), tf.sub(tf.square(leavingOf), tf.square(targetOf))]) as tf.Tensor2D; // [3, C + P]
    const query = tf.tensor2d(Float32Array.from(origins.flatMap((o) => Array.from(shifted.subarray(o - window, o)))), [B, window]);
    const score0 = tf.sub(tf.matMul(query, tf.mul(patterns, 2)), tf.reshape(tf.sum(tf.square(patterns), 0), [1, -1]));
    const staticMask = new Float32Array(B * C);
    edge.forEach((e, row) => {
      staticMask.fill(-FAR, row * C, row * C + P);
      staticMask.fill(-FAR, row * C + Math.max(P, Math.min(C, e)), (row + 1) * C);
    });
    const prefixIdx = tf.tensor2d(prefixCols, [B, P], 'int32');
    const bandIdx = tf.tensor2d(bandCols.map((c) => Math.min(c, C - 1)), [B, P - 1], 'int32');
    return {
      table,
      query,
      main: tf.add(score0, tf.tensor2d(staticMask, [B, C])),
      prefixIdx,
      bandIdx,
      prefix: pick(score0, prefixIdx),
      band: P > 1 ? pick(score0, bandIdx) : tf.zeros([B, 0]),
    };
  });

  const maxNorm = patternNorm.reduce((m, v) => Math.max(m, v), 0);
  try {
    for (let h = 0; h < P; h++) {
      // Only patterns whose float32 score, give or take its error bound, can reach the k-th best's are
      // ranked, by exact float64 distance: the k nearest and any pattern tied with them. The bound is
      // α·(‖q‖² + 2‖p‖² + 2·max y²), taken at the largest ‖p‖² for all. The main matrix is searched
      // in tfjs (its k best, and how many columns pass); a row is read whole only when columns outside
      // its k best pass, which ties make rare.
      const alpha = float32Error(window, 1, h + 1);
      const qs = queries.map((query) => norm(query.map((v) => v - mean), 0, window));
      const margin = qs.map((q) => 2 * alpha * (q + 2 * maxNorm + 2 * top));
      // One pass in tfjs: each row's k best columns, and how many columns come within the margin of
      // its k-th best (step() of the difference: greaterEqual is 50 times slower on wasm; the margin
      // is widened by a hair so that a column exactly at it still counts).
      const found = tf.tidy(() => {
        // (For k = 1 the best column's score is gathered after argMax: a second pass, max(), costs more.)
        const best = k === 1 ? tf.reshape(tf.argMax(state.main, 1), [-1, 1]) : undefined;
        const t = best ? { values: pick(state.main, best), indices: best } : tf.topk(state.main, Math.min(k, C));
        const kth = tf.slice(t.values, [0, t.values.shape[1]! - 1], [-1, 1]);
        const widened = tf.tensor2d(margin.map((m) => m * (1 + 1e-6) + 1e-6), [B, 1]);
        const count = tf.sum(tf.step(tf.sub(state.main, tf.sub(kth, widened))), 1, true);
        return tf.concat([t.values, tf.cast(t.indices, 'float32'), count], 1);
      });
      const flat = found.dataSync() as Float32Array;
      found.dispose();
      const width = (flat.length / B - 1) / 2;
      const prefix = state.prefix.dataSync() as Float32Array;
      const band = state.band.dataSync() as Float32Array;
      const rows = origins.map((origin, b) => {
        const at = (i: number) => flat[b * (2 * width + 1) + i];
        const usable = (c: number) => c >= P - h && c < origin - window + P - h;
        const listed: { score: number; j: number; main: boolean }[] = [];
        for (let i = 0; i < width; i++) if (at(i) > -FAR / 2) listed.push({ score: at(i), j: at(width + i) - P + h, main: true });
        for (let i = 0; i < P; i++) if (usable(prefixCols[b * P + i])) listed.push({ score: prefix[b * P + i], j: prefixCols[b * P + i] - P + h, main: false });
        for (let i = 0; i < P - 1; i++) if (usable(bandCols[b * (P - 1) + i])) listed.push({ score: band[b * (P - 1) + i], j: bandCols[b * (P - 1) + i] - P + h, main: false });
        listed.sort((x, y) => y.score - x.score);
        // The k-th best over all columns is at least the main matrix's, so its reach is higher: columns
        // of the main matrix that pass it are among those counted.
        const reach = listed[Math.min(k, listed.length) - 1].score - margin[b];
        const mainReach = (width ? at(width - 1) : -FAR) - margin[b];
        const passing = listed.filter((x) => x.score >= reach);
        const mainListed = listed.filter((x) => x.main && x.score >= mainReach).length;
        return { reach, passing, complete: at(2 * width) <= mainListed };
      });
      const next = new Float64Array(B);
      let whole: Float32Array | undefined;
      origins.forEach((_, b) => {
        const ranked = rows[b].passing.map(({ j }) => ({ j, d: distance(queries[b], 0, exact, j, window) }));
        if (!rows[b].complete) {
          // Columns outside the k best pass too (ties): read the matrix once this hour, and rank every
          // passing column of the row.
          whole ??= state.main.dataSync() as Float32Array;
          const row = whole.subarray(b * C, (b + 1) * C);
          const seen = new Set(ranked.map((r) => r.j));
          for (let c = P; c < C; c++) {
            const j = c - P + h;
            if (row[c] >= rows[b].reach && row[c] > -FAR / 2 && !seen.has(j)) ranked.push({ j, d: distance(queries[b], 0, exact, j, window) });
          }
        }
        ranked.sort((x, y) => x.d - y.d || x.j - y.j);
        const nearest = ranked.slice(0, k);
        next[b] = nearest.reduce((s, r) => s + exact[r.j + window], 0) / nearest.length;
        forecasts[b][h] = next[b];
        queries[b].copyWithin(0, 1);
        queries[b][window - 1] = next[b];
      });
      if (h === P - 1) break;
      const updated = tf.tidy(() => {
        const nextT = tf.tensor2d(Float32Array.from(next, (v) => v - mean), [B, 1]);
        const coeffs = tf.concat([tf.slice(state.query, [0, 0], [-1, 1]), nextT, tf.ones([B, 1])], 1);
        const rows = tf.slice(state.table, [0, h], [3, C]);
        const row = (r: number, idx: tf.Tensor2D) => tf.gather(tf.reshape(tf.slice(rows, [r, 0], [1, -1]), [-1]), idx);
        const side = (idx: tf.Tensor2D, current: tf.Tensor) =>
          tf.add(tf.add(tf.add(current, tf.mul(tf.slice(coeffs, [0, 0], [-1, 1]), row(0, idx))), tf.mul(nextT, row(1, idx))), row(2, idx));
        return {
          main: tf.add(state.main, tf.matMul(coeffs, rows)),
          prefix: side(state.prefixIdx, state.prefix),
          band: P > 1 ? side(state.bandIdx, state.band) : state.band.clone(),
          query: tf.concat([tf.slice(state.query, [0, 1], [-1, window - 1]), nextT], 1),
        };
      });
      for (const key of ['main', 'prefix', 'band', 'query'] as const) {
        state[key].dispose();
        (state as Record<string, tf.Tensor>)[key] = updated[key];
      }
    }
  } finally {
    for (const t of Object.values(state)) t.dispose();
  }
  return forecasts.map((f) => f.map((v) => Math.max(0, v)));
}

// The nearest candidate days of many targets at once. A target is the end of its history (`ends`,
// an index into `values`); candidate days are `starts` (indices where chat days begin, sorted) of
// which a target may use those whose whole day lies before its end (`lengths`). Returns, per target,
// the positions in `starts` of its k nearest, nearest first, ties going to the earliest day. The
// float32 matrix product only shortlists; the order is decided by exact float64 distances.
export function nearestDays(values: ArrayLike<number>, starts: number[], lengths: number[], ends: number[], params: DirectKnnParams): Int32Array[] {
  const { window, k } = params;
  checkOrigins(values.length, ends, window, `KNN with window ${window}`);
  const series = centred(values, params.transform === 'log1p' ? Math.log1p : undefined);
  const candidates = starts.map((_, i) => i).filter((i) => starts[i] >= window);
  // Candidates are in time order, so each target may use a prefix of them.
  const usable = ends.map((end) => {
    let n = 0;
    while (n < candidates.length && starts[candidates[n]] + lengths[candidates[n]] <= end) n++;
    return n;
  });
  const out: Int32Array[] = new Array(ends.length);
  const rows = ends.map((_, i) => i).filter((i) => {
    if (usable[i] === 0) out[i] = new Int32Array(0);
    return usable[i] > 0;
  });
  if (rows.length === 0) return out;
  const score = tf.tidy(() => {
    const windows = windowsBefore(series.shifted, candidates.map((i) => starts[i]), window);
    const norms = tf.reshape(tf.sum(tf.square(windows), 1), [1, -1]);
    const query = windowsBefore(series.shifted, rows.map((i) => ends[i]), window);
    return tf.sub(tf.mul(tf.matMul(query, windows, false, true), 2), norms);
  });
  const full = score.dataSync() as Float32Array;
  score.dispose();
  const norms = candidates.map((c) => norm(series.shifted, starts[c] - window, window));
  const n = candidates.length;
  rows.forEach((i, r) => {
    const end = ends[i];
    // Only days whose float32 score, give or take its error bound, can reach the k-th best's are
    // ranked, by exact float64 distance: the k nearest and any day tied with them.
    const row = full.subarray(r * n, r * n + usable[i]);
    const q = norm(series.shifted, end - window, window);
    const bound = (c: number) => float32Error(window, q + 2 * norms[c], 0);
    const { value: kth, at } = kthLargest(row, k);
    const reach = kth - bound(at);
    const ranked: { c: number; d: number }[] = [];
    row.forEach((s, c) => {
      if (s + bound(c) >= reach) ranked.push({ c, d: distance(series.exact, end - window, series.exact, starts[candidates[c]] - window, window) });
    });
    ranked.sort((a, b) => a.d - b.d || a.c - b.c);
    out[i] = Int32Array.from(ranked.slice(0, Math.min(k, usable[i])), (x) => candidates[x.c]);
  });
  return out;
}

// The k-th largest of a row of scores and a few more, and where it is (positions past the row are
// in `more`); the smallest of all when there are fewer than k.
function kthLargest(row: Float32Array, k: number, more: number[] = []): { value: number; at: number } {
  const n = row.length;
  const get = (i: number) => (i < n ? row[i] : more[i - n]);
  if (k === 1) {
    let value = -Infinity;
    let at = -1;
    for (let i = 0; i < n; i++) {
      if (row[i] > value) {
        value = row[i];
        at = i;
      }
    }
    more.forEach((x, i) => {
      if (x > value) {
        value = x;
        at = n + i;
      }
    });
    return { value, at };
  }
  const top: number[] = []; // positions, ascending by score, at most k
  for (let i = 0; i < n + more.length; i++) {
    const x = get(i);
    if (top.length === k && x <= get(top[0])) continue;
    let place = top.findIndex((t) => get(t) > x);
    if (place < 0) place = top.length;
    top.splice(place, 0, i);
    if (top.length > k) top.shift();
  }
  return top.length ? { value: get(top[0]), at: top[0] } : { value: -Infinity, at: -1 };
}

// ‖x[from, from + window)‖² in float64.
function norm(x: Float64Array, from: number, window: number): number {
  let s = 0;
  for (let i = 0; i < window; i++) s += x[from + i] * x[from + i];
  return s;
}

// A bound on the float32 rounding error of a score 2q·p − ‖p‖² of `window` values, where `magnitude`
// bounds ‖q‖² + 2‖p‖² (and, for the recursive KNN, the squares its `steps` rank-3 updates add): a sum
// of n terms rounds by at most n·2⁻²⁴ of their absolute sum; twice that, to be safe.
function float32Error(window: number, magnitude: number, steps: number): number {
  return 2 * (window + 8 * steps + 4) * 2 ** -24 * magnitude;
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { directKnn, recursiveKnn, type DirectKnnParams, type RecursiveKnnParams } from '../../tasks/core/knn.js';
import { quantile } from '../../tasks/core/models.js';

// Brute force in float64: every pattern before the origin, squared Euclidean distance, stable sort
// (ties: the earliest pattern), recursive over the horizon.
function bruteRecursive(values: number[], origin: number, params: RecursiveKnnParams, horizon: number): number[] {
  const { window, k } = params;
  const patterns: { x: number[]; y: number }[] = [];
  for (let i = 0; i + window < origin; i++) patterns.push({ x: values.slice(i, i + window), y: values[i + window] });
  let query = values.slice(origin - window, origin);
  const out: number[] = [];
  for (let step = 0; step < horizon; step++) {
    const ranked = patterns
      .map((p, index) => ({ p, index, d: p.x.reduce((s, v, j) => s + (v - query[j]) ** 2, 0) }))
      .sort((a, b) => a.d - b.d || a.index - b.index)
      .slice(0, k);
    const next = ranked.reduce((s, r) => s + r.p.y, 0) / k;
    out.push(next);
    query = [...query.slice(1), next];
  }
  return out.map((v) => Math.max(0, v));
}

// Brute force of the direct KNN: candidate days whose window and next `horizon` hours lie before the origin.
function bruteDirect(values: number[], origin: number, anchors: number[], params: DirectKnnParams, horizon: number) {
  const t = params.transform === 'log1p' ? Math.log1p : (v: number) => v;
  const query = values.slice(origin - params.window, origin).map(t);
  const ranked = anchors
    .filter((s) => s >= params.window && s + horizon <= origin)
    .sort((a, b) => a - b)
    .map((s, index) => ({ s, index, d: values.slice(s - params.window, s).map(t).reduce((sum, v, j) => sum + (v - query[j]) ** 2, 0) }))
    .sort((a, b) => a.d - b.d || a.index - b.index)
    .slice(0, params.k);
  const at = (h: number) => ranked.map((r) => values[r.s + h]).sort((a, b) => a - b);
  return {
    median: Array.from({ length: horizon }, (_, h) => quantile(at(h), 0.5)),
    mean: Array.from({ length: horizon }, (_, h) => at(h).reduce((a, b) => a + b, 0) / ranked.length),
    lo: Array.from({ length: horizon }, (_, h) => quantile(at(h), params.band[0])),
    hi: Array.from({ length: horizon }, (_, h) => quantile(at(h), params.band[1])),
  };
}

function counts(length: number, seed: string, max = 6): number[] {
  const rng = seedrandom(seed);
  return Array.from({ length }, (_, i) => (rng() < 0.6 ? 0 : Math.floor(rng() * max) + (i % 24 > 12 ? 2 : 0)));
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => expect(Array.from(a).map((v) => +v.toFixed(4))).toEqual(Array.from(b).map((v) => +v.toFixed(4)));
const backendBefore = tf.getBackend();

describe.each(['wasm', 'cpu'])('tensor KNN on the %s backend', (backend) => {
  beforeAll(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    expect(await tf.setBackend(backend)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend(backendBefore);
  });

  it.each([
    { k: 1, window: 24, seed: 'a' },
    { k: 1, window: 168, seed: 'b' },
    { k: 2, window: 12, seed: 'c' },
    { k: 4, window: 6, seed: 'd' },
  ])('recursive: equals brute force for one step and for 24 steps (k=$k, window=$window)', ({ k, window, seed }) => {
    const params: RecursiveKnnParams = { model: 'knn_recursive', k, window };
    const values = counts(24 * 30, seed);
    const f = Float32Array.from(values);
    expect(Array.from(recursiveKnn(f, [values.length], 1, params)[0])).toEqual(bruteRecursive(values, values.length, params, 1));
    expect(Array.from(recursiveKnn(f, [values.length], 24, params)[0])).toEqual(bruteRecursive(values, values.length, params, 24));
  });

  it('recursive: breaks ties in favour of the earliest pattern', () => {
    // Patterns [0,0] at 0 and 3 are both at distance 0 from the query [0,0]; they are followed by 5 and 7.
    const values = [0, 0, 5, 0, 0, 7, 1, 0, 0];
    const params: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 2 };
    expect(Array.from(recursiveKnn(Float32Array.from(values), [9], 1, params)[0])).toEqual([5]);
    expect(bruteRecursive(values, 9, params, 1)).toEqual([5]);
    const periodic = Array.from({ length: 24 * 10 }, (_, i) => [0, 0, 1, 3, 0, 2][i % 6]);
    const p24: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 24 };
    expect(Array.from(recursiveKnn(Float32Array.from(periodic), [periodic.length], 24, p24)[0])).toEqual(bruteRecursive(periodic, periodic.length, p24, 24));
  });

  it('recursive: never forecasts below zero', () => {
    const params: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 2 };
    const values = [1, -2, 1, -2, 1, -2, 1];
    expect(Array.from(recursiveKnn(Float32Array.from(values), [7], 3, params)[0])).toEqual([0, 1, 0]);
  });

  it.each([
    { k: 3, window: 24, horizon: 24, band: [0.1, 0.9] as [number, number] },
    { k: 6, window: 48, horizon: 25, band: [0.1, 0.8] as [number, number] },
    { k: 50, window: 12, horizon: 23, band: [0.2, 0.7] as [number, number] },
  ])('direct: median, mean and band equal brute force (k=$k, window=$window, horizon=$horizon)', ({ k, window, horizon, band }) => {
    const values = counts(24 * 40, `direct${k}`);
    const anchors = Array.from({ length: 40 }, (_, d) => d * 24);
    const params: DirectKnnParams = { model: 'knn_direct', k, window, transform: 'none', band };
    const origins = [24 * 20, 24 * 33, values.length];
    const got = directKnn(Float32Array.from(values), origins, anchors, horizon, params);
    origins.forEach((o, i) => {
      const want = bruteDirect(values, o, anchors, params, horizon);
      close(got.median[i], want.median);
      close(got.mean[i], want.mean);
      close(got.lo[i], want.lo);
      close(got.hi[i], want.hi);
    });
  });
});

describe('batched forecasts equal origin-by-origin ones, and see nothing after their origin', () => {
  const values = Float32Array.from(counts(24 * 60, 'batch'));
  const anchors = Array.from({ length: 60 }, (_, d) => d * 24);
  const origins = Array.from({ length: 12 }, (_, i) => 24 * (45 + i));
  const direct: DirectKnnParams = { model: 'knn_direct', k: 9, window: 72, transform: 'log1p', band: [0.1, 0.8] };
  const seed: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 168 };

  it('the recursive KNN', () => {
    const batch = recursiveKnn(values, origins, 24, seed);
    origins.forEach((o, i) => expect(Array.from(batch[i])).toEqual(Array.from(recursiveKnn(values.slice(0, o), [o], 24, seed)[0])));
  });

  it('the direct KNN', () => {
    const batch = directKnn(values, origins, anchors, 24, direct);
    origins.forEach((o, i) => {
      const single = directKnn(values.slice(0, o), [o], anchors.filter((a) => a <= o), 24, direct);
      for (const key of ['median', 'mean', 'lo', 'hi'] as const) expect(Array.from(batch[key][i])).toEqual(Array.from(single[key][0]));
    });
  });

  it('changing every hour from an origin on changes nothing for that origin', () => {
    const o = origins[5];
    const changed = Float32Array.from(values, (v, i) => (i >= o ? v + 50 : v));
    expect(Array.from(recursiveKnn(changed, [o], 24, seed)[0])).toEqual(Array.from(recursiveKnn(values, [o], 24, seed)[0]));
    const a = directKnn(changed, [o], anchors, 24, direct);
    const b = directKnn(values, [o], anchors, 24, direct);
    expect(Array.from(a.median[0])).toEqual(Array.from(b.median[0]));
    expect(Array.from(a.hi[0])).toEqual(Array.from(b.hi[0]));
  });
});

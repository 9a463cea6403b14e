import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { nearestDays, recursiveKnn, type DirectKnnParams, type RecursiveKnnParams } from '../../tasks/core/knn.js';

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

// Brute force of the direct KNN's neighbour search: candidate days whose window lies in the series
// and whose whole day ends before the target's end, nearest first, ties to the earliest day.
function bruteDays(values: number[], starts: number[], lengths: number[], end: number, params: DirectKnnParams): number[] {
  const t = params.transform === 'log1p' ? Math.log1p : (v: number) => v;
  const query = values.slice(end - params.window, end).map(t);
  return starts
    .map((s, i) => ({ s, i }))
    .filter(({ s, i }) => s >= params.window && s + lengths[i] <= end)
    .map(({ s, i }) => ({ i, d: values.slice(s - params.window, s).map(t).reduce((sum, v, j) => sum + (v - query[j]) ** 2, 0) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, params.k)
    .map((r) => r.i);
}

function counts(length: number, seed: string, max = 6): number[] {
  const rng = seedrandom(seed);
  return Array.from({ length }, (_, i) => (rng() < 0.6 ? 0 : Math.floor(rng() * max) + (i % 24 > 12 ? 2 : 0)));
}

// A busy chat: about 2,000 messages an hour with a daily rhythm, where float32 scores of the form
// 2q·p − ‖p‖² lose the units digit.
function busy(length: number, seed: string): number[] {
  const rng = seedrandom(seed);
  return Array.from({ length }, (_, i) => 2000 + Math.round(300 * Math.sin((2 * Math.PI * i) / 24) + 40 * (rng() - 0.5)));
}

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
    expect(Array.from(recursiveKnn(values, [values.length], 1, params)[0])).toEqual(bruteRecursive(values, values.length, params, 1));
    expect(Array.from(recursiveKnn(values, [values.length], 24, params)[0])).toEqual(bruteRecursive(values, values.length, params, 24));
  });

  it('recursive: breaks ties in favour of the earliest pattern', () => {
    // Patterns [0,0] at 0 and 3 are both at distance 0 from the query [0,0]; they are followed by 5 and 7.
    const values = [0, 0, 5, 0, 0, 7, 1, 0, 0];
    const params: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 2 };
    expect(Array.from(recursiveKnn(values, [9], 1, params)[0])).toEqual([5]);
    expect(bruteRecursive(values, 9, params, 1)).toEqual([5]);
    const periodic = Array.from({ length: 24 * 10 }, (_, i) => [0, 0, 1, 3, 0, 2][i % 6]);
    const p24: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 24 };
    expect(Array.from(recursiveKnn(periodic, [periodic.length], 24, p24)[0])).toEqual(bruteRecursive(periodic, periodic.length, p24, 24));
  });

  it('recursive: never forecasts below zero', () => {
    const params: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 2 };
    expect(Array.from(recursiveKnn([1, -2, 1, -2, 1, -2, 1], [7], 3, params)[0])).toEqual([0, 1, 0]);
  });

  it.each([
    { k: 1, window: 168, seed: 'p1' },
    { k: 3, window: 24, seed: 'p2' },
  ])('recursive: exact at about 2,000 messages an hour, over 100 origins (k=$k, window=$window)', ({ k, window, seed }) => {
    const values = busy(24 * 60, seed);
    const params: RecursiveKnnParams = { model: 'knn_recursive', k, window };
    const origins = Array.from({ length: 100 }, (_, i) => values.length - 24 * 4 - i * 7);
    const batch = recursiveKnn(values, origins, 24, params);
    origins.forEach((o, i) => expect(Array.from(batch[i]), `origin ${o}`).toEqual(bruteRecursive(values, o, params, 24)));
  });

  it('recursive: a strictly farther pattern never wins, and of equal ones the earliest does, at 2,000 an hour', () => {
    // Three patterns ending before the query: the second is exactly the query (distance 0), the first
    // and third differ by one message in one hour (distance 1). Values around 2,000.
    const q = [2001, 1999, 2003, 2000];
    const values = [...q.map((v, i) => (i === 2 ? v + 1 : v)), 10, ...q, 20, ...q.map((v, i) => (i === 0 ? v - 1 : v)), 30, ...q, 40, ...q];
    const params: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 4 };
    // Exact matches end at 5 + 4 (→ 20) and 15 + 4 (→ 40): the earlier one wins.
    expect(Array.from(recursiveKnn(values, [values.length], 1, params)[0])).toEqual([20]);
  });

  it.each([
    { k: 3, window: 24, transform: 'none' as const },
    { k: 6, window: 48, transform: 'log1p' as const },
    { k: 50, window: 12, transform: 'none' as const },
  ])('direct: the nearest days equal brute force (k=$k, window=$window, $transform)', ({ k, window, transform }) => {
    const values = counts(24 * 40, `direct${k}`);
    const starts = Array.from({ length: 40 }, (_, d) => d * 24);
    const lengths = starts.map(() => 24);
    const params: DirectKnnParams = { model: 'knn_direct', k, window, transform };
    const ends = [24 * 20, 24 * 33, values.length];
    const got = nearestDays(values, starts, lengths, ends, params);
    ends.forEach((end, i) => expect(Array.from(got[i])).toEqual(bruteDays(values, starts, lengths, end, params)));
  });

  it('direct: exact at about 2,000 messages an hour, ties to the earliest day', () => {
    const values = busy(24 * 120, 'direct-busy');
    // Make day 30's window an exact copy of day 80's (the query's neighbour ties): the earlier must win.
    for (let i = 0; i < 24; i++) values[30 * 24 - 24 + i] = values[80 * 24 - 24 + i];
    const starts = Array.from({ length: 120 }, (_, d) => d * 24);
    const lengths = starts.map(() => 24);
    const params: DirectKnnParams = { model: 'knn_direct', k: 5, window: 24, transform: 'none' };
    const ends = Array.from({ length: 30 }, (_, i) => 24 * (90 + i));
    const got = nearestDays(values, starts, lengths, ends, params);
    ends.forEach((end, i) => expect(Array.from(got[i])).toEqual(bruteDays(values, starts, lengths, end, params)));
    const query = nearestDays(values, starts, lengths, [80 * 24 - 0], { ...params, k: 2 })[0];
    expect(Array.from(query).slice(0, 1)).toEqual(bruteDays(values, starts, lengths, 80 * 24, { ...params, k: 1 }));
  });
});

describe('batched forecasts equal origin-by-origin ones, and see nothing after their origin', () => {
  const values = counts(24 * 60, 'batch');
  const starts = Array.from({ length: 60 }, (_, d) => d * 24);
  const lengths = starts.map(() => 24);
  const origins = Array.from({ length: 12 }, (_, i) => 24 * (45 + i));
  const direct: DirectKnnParams = { model: 'knn_direct', k: 9, window: 72, transform: 'log1p' };
  const seed: RecursiveKnnParams = { model: 'knn_recursive', k: 1, window: 168 };

  it('the recursive KNN', () => {
    const batch = recursiveKnn(values, origins, 24, seed);
    origins.forEach((o, i) => expect(Array.from(batch[i])).toEqual(Array.from(recursiveKnn(values.slice(0, o), [o], 24, seed)[0])));
  });

  it('the direct KNN', () => {
    const batch = nearestDays(values, starts, lengths, origins, direct);
    origins.forEach((o, i) => {
      const single = nearestDays(values.slice(0, o), starts.filter((s) => s < o), lengths, [o], direct)[0];
      expect(Array.from(batch[i])).toEqual(Array.from(single));
    });
  });

  it('changing every hour from an origin on changes nothing for that origin', () => {
    const o = origins[5];
    const changed = values.map((v, i) => (i >= o ? v + 50 : v));
    expect(Array.from(recursiveKnn(changed, [o], 24, seed)[0])).toEqual(Array.from(recursiveKnn(values, [o], 24, seed)[0]));
    expect(Array.from(nearestDays(changed, starts, lengths, [o], direct)[0])).toEqual(Array.from(nearestDays(values, starts, lengths, [o], direct)[0]));
  });
});

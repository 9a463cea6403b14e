import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { disposeKnn, fitKnn, predictKnn, type KnnParams } from '../../tasks/core/knn.js';

// Brute force in float64: every pattern, squared Euclidean distance, stable sort (ties: earliest pattern).
function bruteForce(values: number[], params: KnnParams, horizon: number): number[] {
  const { window, k } = params;
  const patterns: { x: number[]; y: number; index: number }[] = [];
  for (let i = 0; i + window < values.length; i++) {
    patterns.push({ x: values.slice(i, i + window), y: values[i + window], index: i });
  }
  let query = values.slice(values.length - window);
  const out: number[] = [];
  for (let step = 0; step < horizon; step++) {
    const ranked = patterns
      .map((p) => ({ p, d: p.x.reduce((s, v, j) => s + (v - query[j]) ** 2, 0) }))
      .sort((a, b) => a.d - b.d || a.p.index - b.p.index)
      .slice(0, k);
    const next = ranked.reduce((s, r) => s + r.p.y, 0) / k;
    out.push(next);
    query = [...query.slice(1), next];
  }
  return out.map((v) => Math.max(0, v));
}

function knn(values: number[], params: KnnParams, horizon: number): number[] {
  const model = fitKnn(Float32Array.from(values), params);
  try {
    return Array.from(predictKnn(model, horizon));
  } finally {
    disposeKnn(model);
  }
}

const backendBefore = tf.getBackend();

function counts(length: number, seed: string, max = 6): number[] {
  const rng = seedrandom(seed);
  return Array.from({ length }, (_, i) => (rng() < 0.6 ? 0 : Math.floor(rng() * max) + (i % 24 > 12 ? 2 : 0)));
}

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
  ])('equals brute force for one step and for 24 recursive steps (k=$k, window=$window)', ({ k, window, seed }) => {
    const params: KnnParams = { k, window, strategy: 'recursive' };
    const values = counts(24 * 30, seed);
    expect(knn(values, params, 1)).toEqual(bruteForce(values, params, 1));
    expect(knn(values, params, 24)).toEqual(bruteForce(values, params, 24));
  });

  it('breaks ties in favour of the earliest pattern', () => {
    // Patterns [0,0] at 0 and 3 are both at distance 0 from the query [0,0]; they are followed by 5 and 7.
    const values = [0, 0, 5, 0, 0, 7, 1, 0, 0];
    const params: KnnParams = { k: 1, window: 2, strategy: 'recursive' };
    expect(knn(values, params, 1)).toEqual([5]);
    expect(bruteForce(values, params, 1)).toEqual([5]);
    // A series made of one repeated day: every day-long pattern ties with others, recursion keeps the rule.
    const periodic = Array.from({ length: 24 * 10 }, (_, i) => [0, 0, 1, 3, 0, 2][i % 6]);
    const p24: KnnParams = { k: 1, window: 24, strategy: 'recursive' };
    expect(knn(periodic, p24, 24)).toEqual(bruteForce(periodic, p24, 24));
  });

  it('never forecasts below zero', () => {
    // The nearest pattern to the tail [-2, 1] is followed by -2: the forecast clamps it to 0.
    const params: KnnParams = { k: 1, window: 2, strategy: 'recursive' };
    const values = [1, -2, 1, -2, 1, -2, 1];
    expect(bruteForce(values, params, 1)).toEqual([0]);
    expect(knn(values, params, 3)).toEqual([0, 0, 0].map((_, i) => Math.max(0, [-2, 1, -2][i])));
  });

  it('refuses a history shorter than one pattern and its next hour', () => {
    expect(() => fitKnn(Float32Array.from([1, 2, 3]), { k: 1, window: 3, strategy: 'recursive' })).toThrow(
      /needs at least 4 hours of history, got 3/,
    );
  });
});

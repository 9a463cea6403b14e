import * as tf from '@tensorflow/tfjs';
import { ChatcastError } from './errors.js';

// The KNN forecaster's parameters, as params.yaml's train section sets them.
export interface KnnParams {
  k: number; // neighbours averaged
  window: number; // hours in a pattern
  strategy: 'recursive'; // one step ahead, fed back, repeated over the horizon
}

// The original system's model: one nearest week-long pattern, recursive.
export const SEED_KNN: KnnParams = { k: 1, window: 168, strategy: 'recursive' };

// A fitted KNN: the pattern matrix, each pattern's next value, and the squared norms used by every query.
export interface KnnModel {
  params: KnnParams;
  patterns: tf.Tensor2D; // [m, window]
  targets: tf.Tensor1D; // [m]
  norms: tf.Tensor1D; // [m], ‖pattern‖²
  tail: tf.Tensor1D; // [window], the last hours seen: the first query
}

// The least history the model can fit on: one full pattern and the hour that follows it.
export function minimumHistory(params: KnnParams): number {
  return params.window + 1;
}

// Builds the pattern matrix with one framing op: row i is values[i … i+window-1], its target values[i+window].
export function fitKnn(values: Float32Array, params: KnnParams): KnnModel {
  const { window, k } = params;
  const patternsCount = values.length - window;
  if (patternsCount < Math.max(1, k)) {
    throw new ChatcastError(
      'STATE',
      `KNN with window ${window} and k ${k} needs at least ${window + k} hours of history, got ${values.length}`,
    );
  }
  const tensors = tf.tidy(() => {
    const series = tf.tensor1d(values, 'float32');
    const patterns = tf.signal.frame(series.slice(0, values.length - 1), window, 1) as tf.Tensor2D;
    const targets = series.slice(window, patternsCount) as tf.Tensor1D;
    const norms = patterns.square().sum(1) as tf.Tensor1D;
    const tail = series.slice(values.length - window, window) as tf.Tensor1D;
    return { patterns, targets, norms, tail };
  });
  return { params, ...tensors };
}

// Frees a fitted model's tensors (the wasm and native backends do not garbage-collect them).
export function disposeKnn(model: KnnModel): void {
  tf.dispose([model.patterns, model.targets, model.norms, model.tail]);
}

// Forecasts `horizon` hours after the fitted history, never below zero.
// Distance ranking uses ‖p‖² − 2·p·q (‖q‖² is the same for every pattern); ties go to the
// earliest pattern, because topk returns the lower index first among equal values.
export function predictKnn(model: KnnModel, horizon: number): Float32Array {
  const { k, window } = model.params;
  const out = tf.tidy(() => {
    let query = model.tail;
    const steps: tf.Tensor[] = [];
    for (let step = 0; step < horizon; step++) {
      const dots = tf.matMul(model.patterns, query.reshape([window, 1])).reshape([-1]);
      const negatedDistance = dots.mul(2).sub(model.norms);
      const { indices } = tf.topk(negatedDistance, k);
      const next = tf.gather(model.targets, indices).mean().reshape([1]);
      steps.push(next);
      query = tf.concat([query.slice(1, window - 1), next]) as tf.Tensor1D;
    }
    return tf.concat(steps).relu();
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return Float32Array.from(values);
}

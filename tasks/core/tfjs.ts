// TensorFlow.js as the forecaster computes with it: tfjs-core and its plain-JavaScript backend (always
// there, the last resort; io/tf.ts tries WebAssembly and the optional native binding). Not the
// `@tensorflow/tfjs` umbrella: its layers, converter, data and WebGL parts are 250 MB chatcast never runs.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The chained ops' types (`x.add(y)` for `tf.add(x, y)`); tfjs-core's Node bundle leaves their code out.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

// The chained ops, registered on the tensor class as the umbrella package did: `x.op(...args)` is
// `tf.op(x, ...args)` for these, and the rest are spelled out below. (Loading tfjs-node, which brings the
// umbrella, registers the same functions again.)
const CHAINED = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh',
  'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d', 'cos', 'cosh',
  'cumprod', 'cumsum', 'depthToSpace', 'divNoNan', 'div', 'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp',
  'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather', 'greaterEqual', 'greater', 'ifft', 'irfft', 'isFinite',
  'isInf', 'isNaN', 'leakyRelu', 'lessEqual', 'less', 'logSigmoid', 'logSoftmax', 'logSumExp', 'log', 'log1p',
  'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maximum', 'mean', 'min', 'minimum',
  'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod',
  'reciprocal', 'relu', 'relu6', 'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'sigmoid', 'sign', 'sin',
  'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference', 'squeeze',
  'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose', 'unique', 'unstack', 'zerosLike',
] as const;
type AnyTensor = tf.Tensor & { throwIfDisposed(): void };
const ops = tf as unknown as Record<string, (...args: unknown[]) => tf.Tensor>;
const special: Record<string, (this: AnyTensor, ...args: any[]) => unknown> = {
  asScalar() {
    tf.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return tf.reshape(this, []);
  },
  asType(dtype: tf.DataType) { return tf.cast(this, dtype); },
  as1D() { return tf.reshape(this, [this.size]); },
  as2D(...shape: number[]) { return tf.reshape(this, shape); },
  as3D(...shape: number[]) { return tf.reshape(this, shape); },
  as4D(...shape: number[]) { return tf.reshape(this, shape); },
  as5D(...shape: number[]) { return tf.reshape(this, shape); },
  concat(x: tf.Tensor | tf.Tensor[], axis?: number) { return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x)], axis); },
  flatten() { return tf.reshape(this, [this.size]); },
  reshapeAs(x: tf.Tensor) { return tf.reshape(this, x.shape); },
  stack(x: tf.Tensor | tf.Tensor[], axis?: number) { return tf.stack(x instanceof tf.Tensor ? [this, x] : [this, ...x], axis); },
  toBool() { return tf.cast(this, 'bool'); },
  toFloat() { return tf.cast(this, 'float32'); },
  toInt() { return tf.cast(this, 'int32'); },
  where(condition: tf.Tensor, x: tf.Tensor) { return tf.where(condition, this, x); },
};
const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
for (const name of CHAINED) {
  const op = ops[name];
  special[name] ??= function (this: AnyTensor, ...args: unknown[]) { return op(this, ...args); };
}
for (const [name, method] of Object.entries(special)) {
  if (typeof proto[name] === 'function') continue;
  proto[name] = function (this: AnyTensor, ...args: unknown[]) {
    this.throwIfDisposed();
    return method.apply(this, args);
  };
}

// The one tfjs the forecaster and io/tf.ts share, with the chained ops registered.
export { tf };

// TensorFlow.js as the forecaster computes with it: tfjs-core and its plain-JavaScript backend (always
// there, the last resort; io/tf.ts tries WebAssembly and the optional native binding). Not the
// `@tensorflow/tfjs` umbrella: its layers, converter, data and WebGL parts are 250 MB chatcast never runs.
// Ops are called as functions (`tf.add(x, y)`): tfjs-core's Node build has no chained `x.add(y)`.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// The one tfjs the forecaster and io/tf.ts share, with its last-resort backend registered.
export { tf };

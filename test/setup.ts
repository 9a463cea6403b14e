import { initTf } from '../tasks/io/tf.js';

await initTf();

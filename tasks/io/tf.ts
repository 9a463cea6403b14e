import { tf } from '../core/tfjs.js';
import { ChatcastError } from '../core/errors.js';

// Which TensorFlow.js backend computed a run, for the log and the forecast's provenance.
export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';

const ORDER: TfBackend[] = ['tensorflow', 'wasm', 'cpu'];
let chosen: Promise<{ backend: TfBackend; skipped: string[] }> | undefined;

// Picks the fastest backend that loads here: the native binding where its install succeeded
// (the production image), else WebAssembly, else plain JavaScript. CHATCAST_TF_BACKEND forces one.
export function initTf(
  wanted: string | undefined = process.env.CHATCAST_TF_BACKEND,
): Promise<{ backend: TfBackend; skipped: string[] }> {
  chosen ??= choose(wanted);
  return chosen;
}

async function choose(wanted: string | undefined) {
  if (wanted && !ORDER.includes(wanted as TfBackend)) {
    throw new ChatcastError(
      'CONFIG',
      `Invalid CHATCAST_TF_BACKEND "${wanted}": expected one of ${ORDER.join(', ')}`,
    );
  }
  const candidates = wanted ? [wanted as TfBackend] : ORDER;
  const skipped: string[] = [];
  for (const backend of candidates) {
    try {
      if (backend === 'tensorflow') await import('@tensorflow/tfjs-node' as string);
      if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      if ((await tf.setBackend(backend)) && tf.getBackend() === backend) {
        await tf.ready();
        return { backend, skipped };
      }
      skipped.push(`${backend}: did not initialise`);
    } catch (error) {
      skipped.push(`${backend}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new ChatcastError('EXTERNAL', `No TensorFlow.js backend loaded: ${skipped.join('; ')}`);
}

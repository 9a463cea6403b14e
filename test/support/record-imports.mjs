// Loaded with `node --import`: appends the URL of every module the process imports to
// $CHATCAST_IMPORTS_LOG, so that a test can tell which libraries a command loaded.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

if (!import.meta.url.endsWith('?hooks')) register(`${import.meta.url}?hooks`);

// The loader hook, run by the copy registered above.
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.CHATCAST_IMPORTS_LOG, `${result.url}\n`);
  return result;
}

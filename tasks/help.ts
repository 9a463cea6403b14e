// `chatcast --help` without loading yargs, which took longer than node itself: `npm run build` saves
// the help yargs prints (dist/help.txt) and plain `--help` prints that file. test/cli.test.ts checks
// that both give the same bytes.
import { readFileSync } from 'node:fs';

// The top of `chatcast --help` (yargs' .usage).
export const USAGE =
  '$0 <step> --date YYYY-MM-DD [--workspace DIR]\n\nHour-by-hour activity of a Telegram chat: ingest, aggregate, evaluate, train, forecast, render, report.';

// The width help wraps at: the terminal's, up to 110 (the saved help is the one at 110).
export function helpWidth(): number {
  return Math.min(110, process.stdout.columns || 110);
}

// The help text the build saved, or undefined when there is none (yargs then prints it).
export function savedHelp(): string | undefined {
  try {
    return readFileSync(new URL('./help.txt', import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}

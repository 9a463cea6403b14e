import { createRequire } from 'node:module';
import type { DestinationStream, Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

// pino loads when the first logger is made, and pino-pretty only on a terminal: `chatcast --help` logs
// nothing, and Airflow's containers log JSON.
const require = createRequire(import.meta.url);

// Environment variables whose values must never reach a log line, whatever key they hide under.
export const SECRET_ENV = [
  'TELEGRAM_API_HASH',
  'TELEGRAM_SESSION',
  'TELEGRAM_BOT_TOKEN',
  'CLEARML_API_SECRET_KEY',
  'CLEARML_API_ACCESS_KEY',
  'AWS_SECRET_ACCESS_KEY',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_PASSWORD',
] as const;

// Keys that hold secrets wherever they appear in a logged object.
const REDACT_PATHS = [
  'token',
  'session',
  'apiHash',
  'password',
  '*.token',
  '*.session',
  '*.apiHash',
  '*.password',
  'env.TELEGRAM_API_HASH',
  'env.TELEGRAM_SESSION',
  'env.TELEGRAM_BOT_TOKEN',
];

// Replaces every known secret value inside a string: error messages can quote a URL with a token.
export function scrub(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of SECRET_ENV) {
    const value = env[name];
    if (value && value.length >= 6) out = out.split(value).join(`[${name}]`);
  }
  return out;
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const cause = (value as { cause?: unknown }).cause;
    return {
      type: value.name,
      message: scrub(value.message),
      ...('code' in value ? { code: (value as { code: unknown }).code } : {}),
      stack: value.stack ? scrub(value.stack) : undefined,
      ...(cause !== undefined ? { cause: scrubDeep(cause, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

// One logger per process: JSON lines for Airflow's log view, readable colours on a terminal.
export function createLogger(options: { pretty?: boolean; level?: string; destination?: DestinationStream } = {}): Logger {
  const human = options.pretty ?? Boolean(process.stdout.isTTY);
  const { pino } = require('pino') as typeof import('pino');
  const config = {
    level: options.level ?? process.env.CHATCAST_LOG_LEVEL ?? 'info',
    base: { app: 'chatcast' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? scrub(a) : a)),
        );
      },
    },
    formatters: {
      log(object: Record<string, unknown>) {
        return scrubDeep(object) as Record<string, unknown>;
      },
    },
  };
  if (human) {
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino(config, pretty({ colorize: true, sync: true, ignore: 'pid,hostname,app' }));
  }
  return pino(config, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

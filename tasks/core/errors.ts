// The error codes a caller (the CLI, Airflow's log reader, a test) can branch on.
export type ErrorCode =
  | 'USAGE' // bad arguments: unknown step, bad --date, …
  | 'CONFIG' // params.yaml holds a value that breaks a rule
  | 'INPUT' // a source (TSV, export) is malformed
  | 'WORKSPACE' // the workspace is missing, uninitialised or inconsistent
  | 'STATE' // an earlier step's artifact is missing or belongs to another day
  | 'EXTERNAL'; // a tool or service (DVC, git, Chromium) failed: often worth a retry

const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  CONFIG: 3,
  INPUT: 4,
  WORKSPACE: 5,
  STATE: 6,
  EXTERNAL: 7,
};

// The one error type of chatcast: a code for programs, a message for people, the cause kept.
export class ChatcastError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatcastError';
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}

// Lets the CLI tell our own errors from bugs without instanceof across module copies.
export function isChatcastError(error: unknown): error is ChatcastError {
  return error instanceof Error && error.name === 'ChatcastError' && 'code' in error;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, tempDir } from '../helpers.js';

// The pinned MLflow (test/trackers/requirements.txt) the tracker tests run against and read back with.
export const MLFLOW_VENV = join(ROOT, '.venv-trackers');
export const MLFLOW_BIN = join(MLFLOW_VENV, 'bin', 'mlflow');
const PYTHON = join(MLFLOW_VENV, 'bin', 'python');
const READBACK = join(ROOT, 'test', 'support', 'mlflow_readback.py');

// A real `mlflow server` on 127.0.0.1 with its own SQLite store and proxied artifacts; stop() and
// start() restart it on the same port and store, as an outage would.
export interface MlflowServer {
  uri: string;
  dir: string;
  stop: () => Promise<void>;
  start: () => Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Fails (never skips) when the venv is missing: the tracker tests are part of the suite.
export function requireMlflow(): void {
  if (!existsSync(MLFLOW_BIN)) {
    throw new Error(`${MLFLOW_BIN} is missing: run \`npm run venv:trackers\` to install MLflow 3.17.2 for the tracker tests`);
  }
}

// Starts the server and waits for GET /health (about a minute on a slow machine, 180 s allowed).
export async function startMlflowServer(options: { startupMs?: number } = {}): Promise<MlflowServer> {
  requireMlflow();
  const dir = await tempDir('chatcast-mlflow-');
  await mkdir(join(dir, 'artifacts'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'server.log');
  const startupMs = options.startupMs ?? 180_000;
  let child: ChildProcess | undefined;

  async function start() {
    if (child) return;
    const log = openSync(logFile, 'a');
    const proc = spawn(
      MLFLOW_BIN,
      [
        'server',
        '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`,
        '--artifacts-destination', join(dir, 'artifacts'),
        '--host', '127.0.0.1',
        '--port', String(port),
        '--workers', '1',
      ],
      {
        cwd: dir,
        detached: true, // its own process group: uvicorn's worker goes down with it
        stdio: ['ignore', log, log],
        // no background job runner: chatcast uses none of MLflow's server-side jobs, and it costs startup time
        env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
      },
    );
    closeSync(log);
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + startupMs;
    while (Date.now() < deadline) {
      if (exited) break;
      try {
        const response = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(500);
    }
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
    await stop();
    throw new Error(`mlflow server on ${uri} ${exited ? 'exited' : `did not answer /health within ${startupMs / 1000} s`}; its log ends:\n${tail}`);
  }

  async function stop() {
    const proc = child;
    if (!proc?.pid) return;
    const gone = new Promise<void>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())));
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-proc.pid!, name);
      } catch {
        // the group is already gone
      }
    };
    signal('SIGTERM');
    const killed = await Promise.race([gone.then(() => true), sleep(15_000).then(() => false)]);
    if (!killed) signal('SIGKILL');
    await gone;
    signal('SIGKILL'); // a worker that outlived the parent
    child = undefined;
    for (let i = 0; i < 40; i++) {
      try {
        await fetch(`${uri}/health`, { signal: AbortSignal.timeout(500) });
      } catch {
        return;
      }
      await sleep(250);
    }
    throw new Error(`mlflow server on ${uri} still answers after stop()`);
  }

  await start();
  return { uri, dir, stop, start };
}

// One active run as MLflow's own Python client reads it back.
export interface ReadbackRun {
  id: string;
  name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Record<string, number>;
  history: Record<string, { step: number; timestamp: number; value: number }[]>;
  artifacts: string[];
  artifact_md5: Record<string, string>;
  datasets: { name: string; digest: string; source_type: string; source: string; tags: Record<string, string> }[];
}

export interface Readback {
  experiment_id: string | null;
  runs: ReadbackRun[];
  deleted_runs: string[];
}

// Everything in an experiment, read through mlflow.MlflowClient (test/support/mlflow_readback.py).
export async function readBack(uri: string, experiment: string): Promise<Readback> {
  requireMlflow();
  const result = await execa(PYTHON, [READBACK, uri, experiment], {
    env: { MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', MLFLOW_TRACKING_URI: uri },
    extendEnv: false,
  });
  return JSON.parse(String(result.stdout)) as Readback;
}

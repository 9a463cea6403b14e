import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The ClearML server the tracker tests talk to: test/support/clearml_standin.py (see README-clearml.md),
// run with the .venv-trackers Python whose `clearml` SDK validates every request body.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = join(ROOT, '.venv-trackers', 'bin', 'python');
const SCRIPT = join(ROOT, 'test', 'support', 'clearml_standin.py');

export interface StandinTask {
  id: string;
  name: string;
  type: string;
  status: string;
  project: string | null;
  tags: string[];
  comment: string;
  hyperparams: Record<string, Record<string, { section: string; name: string; value: string }>>;
  artifacts: { key: string; type: string; mode: string; uri: string; content_size: number; hash: string; timestamp: number; type_data?: Record<string, string> }[];
  history: { endpoint: string; status_before: string | null; status_after: string }[];
  status_message: string;
}

export interface StandinState {
  projects: { id: string; name: string; parent: string | null }[];
  tasks: StandinTask[];
  events: (Record<string, unknown> & { task: string; type: string; iter?: number })[];
  files: Record<string, { size: number; sha256: string; content_type: string | null }>;
  logins: number;
  calls: { endpoint: string; status: number; subcode?: number }[];
}

// A fault the stand-in answers the next `times` calls of `endpoint` with ("files.upload" for the file server).
export type StandinFault =
  | { endpoint: string; status: number; subcode?: number; msg?: string; times?: number }
  | { endpoint: 'events.add_batch'; event_errors: string; times?: number };

export interface ClearmlStandin {
  apiHost: string;
  webHost: string;
  filesHost: string;
  accessKey: string;
  secretKey: string;
  state(): Promise<StandinState>;
  faults(faults: StandinFault[]): Promise<void>;
  expireTokens(): Promise<void>;
  // Stops the server (the ports refuse connections); its state stays in its data folder.
  stop(): Promise<void>;
  // Starts it again on the same ports with the state it had: projects, tasks, events, files, tokens.
  start(): Promise<void>;
  // Stops it for good and removes its data folder.
  close(): Promise<void>;
}

export async function startClearmlStandin(options: { accessKey?: string; secretKey?: string } = {}): Promise<ClearmlStandin> {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run \`npm run venv:trackers\` to install the ClearML SDK the stand-in validates requests with`);
  }
  const accessKey = options.accessKey ?? 'STANDINACCESSKEY0001';
  const secretKey = options.secretKey ?? 'standin-secret-key-0123456789abcdef';
  const dataDir = await mkdtemp(join(tmpdir(), 'chatcast-clearml-'));
  let child: ChildProcess | undefined;
  let ports = { api_port: 0, files_port: 0 };

  async function launch(): Promise<void> {
    const args = [SCRIPT, '--data-dir', dataDir, '--api-port', String(ports.api_port), '--files-port', String(ports.files_port)];
    const proc = spawn(PYTHON, args, {
      env: { ...process.env, CLEARML_STANDIN_ACCESS_KEY: accessKey, CLEARML_STANDIN_SECRET_KEY: secretKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    ports = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ClearML stand-in did not start within 60 s:\n${stderr}`)), 60_000);
      const lines = createInterface({ input: proc.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line));
        } catch (error) {
          reject(new Error(`the ClearML stand-in printed ${JSON.stringify(line)} instead of its ports`, { cause: error }));
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ClearML stand-in exited with ${code} before it was ready:\n${stderr}`));
      });
    });
    child = proc;
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  await launch();
  const apiHost = `http://127.0.0.1:${ports.api_port}`;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${apiHost}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`stand-in ${path}: HTTP ${response.status}`);
  };

  return {
    apiHost,
    webHost: `${apiHost}/_standin/web`,
    filesHost: `http://127.0.0.1:${ports.files_port}`,
    accessKey,
    secretKey,
    async state() {
      const response = await fetch(`${apiHost}/_standin/state`);
      return (await response.json()) as StandinState;
    },
    faults: (faults) => post('/_standin/faults', faults),
    expireTokens: () => post('/_standin/expire_tokens', {}),
    stop,
    async start() {
      if (!child) await launch();
    },
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

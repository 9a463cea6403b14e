import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

// The pinned moto (test/s3/requirements.txt) whose server mode stands in for S3 in the tests of an S3
// DVC remote: a real S3 REST API on 127.0.0.1 that DVC (dvc-s3, s3fs, aiobotocore) talks to as to AWS.
export const MOTO_SERVER = join(ROOT, '.venv-s3', 'bin', 'moto_server');

export interface S3Server {
  endpoint: string; // http://127.0.0.1:PORT, for AWS_ENDPOINT_URL
  createBucket: (name: string) => Promise<void>;
  buckets: () => Promise<string[]>;
  keys: (bucket: string, prefix?: string) => Promise<string[]>;
  stop: () => Promise<void>;
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
const tags = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

// Fails (never skips) when the venv is missing: the S3 tests are part of the suite.
export function requireMoto(): void {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`${MOTO_SERVER} is missing: run \`npm run venv:s3\` to install moto 5.2.5 for the S3 remote tests`);
  }
}

// Starts `moto_server` on a free port and waits until it lists buckets. Its in-memory store goes with it.
// Moto takes any credentials and unsigned requests, so the test makes and lists buckets with plain fetch.
export async function startS3Server(startupMs = 60_000): Promise<S3Server> {
  requireMoto();
  const dir = await tempDir('chatcast-moto-');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'server.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
    cwd: dir,
    detached: true, // its own process group, stopped as one
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

  async function stop() {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if (!(await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]))) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await gone;
      }
    }
  }

  async function request(method: string, path: string): Promise<string> {
    const response = await fetch(`${endpoint}${path}`, { method, signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} on the S3 stand-in: HTTP ${response.status} ${body}`);
    return body;
  }

  const deadline = Date.now() + startupMs;
  for (;;) {
    try {
      await request('GET', '/');
      break;
    } catch {
      if (exited || Date.now() > deadline) {
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
        await stop();
        throw new Error(`moto_server on ${endpoint} ${exited ? 'exited' : `did not answer within ${startupMs / 1000} s`}; its log ends:\n${tail}`);
      }
      await sleep(250);
    }
  }

  return {
    endpoint,
    createBucket: async (name) => void (await request('PUT', `/${name}`)),
    buckets: async () => tags(await request('GET', '/'), 'Name'),
    async keys(bucket, prefix = '') {
      const keys: string[] = [];
      let token = '';
      for (;;) {
        const query = `list-type=2&prefix=${encodeURIComponent(prefix)}${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
        const xml = await request('GET', `/${bucket}?${query}`);
        keys.push(...tags(xml, 'Key'));
        token = tags(xml, 'NextContinuationToken')[0] ?? '';
        if (!token) return keys;
      }
    },
    stop,
  };
}

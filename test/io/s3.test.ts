import { readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRemoteReachable } from '../../tasks/io/remote.js';
import { chatcast, quietContext, snapshot, tempDir } from '../helpers.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// A real S3 DVC remote (dvc-s3 from requirements.txt) against moto's S3 server on 127.0.0.1. The
// credentials and the endpoint reach DVC as the DAG passes them: AWS_* in the step's environment.
const BUCKET = 'chatcast-remote';
const KEY_ID = 'CHATCASTTESTKEYID0001';
const SECRET = 'chatcast-test-secret-9f3c1d7e5b2a';
let s3: S3Server;
let env: Record<string, string>;
const said: string[] = []; // everything chatcast printed, searched for the secret at the end

async function cli(args: string[], extra: Record<string, string> = {}) {
  const result = await chatcast(args, { ...env, ...extra });
  said.push(result.stdout, result.stderr);
  return result;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(path: string) {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(join(path, entry.name));
      else out.push(relative(dir, join(path, entry.name)));
    }
  }
  if (existsSync(dir)) await walk(dir);
  return out.sort();
}

// No trace of the secret in what the workspace holds or ever committed (git history included).
async function expectNoSecret(ws: string) {
  for (const file of await files(ws)) {
    if (file.startsWith('.git/') || file.startsWith('.dvc/cache/')) continue;
    expect(await readFile(join(ws, file), 'utf8'), file).not.toContain(SECRET);
  }
  const history = (await execa('git', ['log', '-p', '--all', '--format=%H %s'], { cwd: ws })).stdout;
  expect(history).not.toContain(SECRET);
  expect(history).not.toContain(KEY_ID);
}

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  env = {
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_ENDPOINT_URL: s3.endpoint,
    // No profile or shared credentials of the machine running the tests.
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
});

afterAll(async () => {
  await s3?.stop();
  expect(said.join('\n')).not.toContain(SECRET);
});

// DVC is slow on a busy machine (a CLI call runs it several times): generous timeouts.
describe('an S3 DVC remote (moto server)', () => {
  it('`init --remote s3://…` runs a day against S3; a wiped cache comes back from the bucket byte for byte', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    const prefix = 'chats/physics';
    const init = await cli(['init', '--workspace', ws, '--remote', `s3://${BUCKET}/${prefix}`]);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(await readFile(join(ws, '.dvc', 'config'), 'utf8')).toContain(`url = s3://${BUCKET}/${prefix}`);
    await assertRemoteReachable(ws); // an S3 remote is left to DVC: no error, no request

    // A week of history in-process, pushed to S3, then one whole day by the CLI: pull, steps, push.
    const { openWorkspace } = await import('../../tasks/io/workspace.js');
    const { ingest } = await import('../../tasks/commands/ingest.js');
    const { aggregate } = await import('../../tasks/commands/aggregate.js');
    const { daysFrom } = await import('../../tasks/core/dates.js');
    const workspace = await openWorkspace(ws);
    for (const day of daysFrom('2024-03-20', '2024-03-27')) {
      await ingest(workspace, day, quietContext());
      await aggregate(workspace, day, quietContext());
    }
    const history = await cli(['push', '--date', '2024-03-27', '--workspace', ws]);
    expect(history.exitCode, history.stderr).toBe(0);
    const run = await cli(['run', '--date', '2024-03-28', '--workspace', ws]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/workspace matches the last pushed state/); // the run pulled from S3 first

    // Every data object of the DVC cache is in the bucket under the remote's prefix, and nothing else is
    // (DVC's run cache, .dvc/cache/runs, is not pushed).
    const cache = join(ws, '.dvc', 'cache');
    const objects = (await files(cache)).filter((o) => o.startsWith('files/'));
    expect(objects.length).toBeGreaterThan(10);
    expect((await s3.keys(BUCKET, `${prefix}/`)).sort()).toEqual(objects.map((o) => `${prefix}/${o}`).sort());

    // Lose the cache and every output DVC keeps in it (metrics with `cache: false` live in git); `pull`
    // brings them back from S3.
    const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8')) as { stages: Record<string, { outs?: { path: string }[] }> };
    const inGit = (await execa('git', ['ls-files'], { cwd: ws })).stdout.split('\n');
    const outs = Object.values(lock.stages)
      .flatMap((s) => (s.outs ?? []).map((o) => o.path))
      .filter((out) => !inGit.some((f) => f === out || f.startsWith(`${out}/`)));
    expect([...new Set(outs.map((o) => o.split('/')[0]))]).toEqual(expect.arrayContaining(['ingest', 'aggregate', 'train', 'forecast', 'render']));
    const before = await snapshot(ws);
    await rm(cache, { recursive: true, force: true });
    for (const out of outs) await rm(join(ws, out), { recursive: true, force: true });
    expect(Object.keys(await snapshot(ws)).length).toBeLessThan(Object.keys(before).length);
    const pull = await cli(['pull', '--workspace', ws]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(await snapshot(ws)).toEqual(before);
    expect((await execa('git', ['status', '--porcelain'], { cwd: ws })).stdout).toBe('');

    await expectNoSecret(ws);
  }, 600_000);

  it('$CHATCAST_DVC_REMOTE points a workspace with a local remote at S3, in .dvc/config.local only', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await cli(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await cli(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    const url = `s3://${BUCKET}/from-env`;
    const push = await cli(['push', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_DVC_REMOTE: url });
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await s3.keys(BUCKET, 'from-env/')).length).toBeGreaterThan(0);
    expect(await readdir(join(root, 'ws-dvc-remote'))).toEqual([]); // the committed remote got nothing
    expect(await readFile(join(ws, '.dvc', 'config.local'), 'utf8')).toContain(`url = ${url}`);
    expect((await execa('git', ['ls-files', '.dvc'], { cwd: ws })).stdout.split('\n')).not.toContain('.dvc/config.local');
    expect((await execa('git', ['show', 'HEAD:.dvc/config'], { cwd: ws })).stdout).not.toContain('s3://');
    await expectNoSecret(ws);
  }, 300_000);

  it('a bucket that does not exist fails push as retryable (exit 7), naming it; the bucket is not made', async () => {
    const root = await tempDir();
    const ws = join(root, 'ws');
    expect((await cli(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await cli(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    const push = await cli(['push', '--date', '2024-03-01', '--workspace', ws], { CHATCAST_DVC_REMOTE: 's3://chatcast-no-such-bucket/x' });
    expect(push.exitCode).toBe(7);
    expect(push.stderr).toMatch(/dvc push failed .*(NoSuchBucket|bucket does not exist)/);
    expect(await s3.buckets()).not.toContain('chatcast-no-such-bucket');
  }, 300_000);
});

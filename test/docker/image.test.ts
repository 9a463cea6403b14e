import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysFrom } from '../../tasks/core/dates.js';
import { ROOT, tempDir } from '../helpers.js';
import { dayPath } from '../../tasks/core/pipeline.js';

// The Docker image, built from this checkout's Dockerfile and driven as a user would with `docker run`.
// Skipped with the reason when there is no Docker engine to talk to.
const IMAGE = 'chatcast:test';
const BASE = 'node:24-bookworm-slim';
const HISTORY = daysFrom('2024-03-20', '2024-03-28');
const DAY = '2024-03-29';

const docker = (args: string[], options: Options = {}) =>
  execa('docker', args, { reject: false, stdin: 'ignore', all: true, ...options }).then((r) => ({
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    all: String(r.all),
    error: r.failed ? r.shortMessage : '',
  }));
const tail = (text: string, lines = 40) => text.split('\n').slice(-lines).join('\n');

const info = await docker(['info', '--format', '{{.ServerVersion}}']);
const noDocker = info.exitCode === 0 ? undefined : `docker info failed: ${(info.stderr.trim() || info.error).split('\n')[0]}`;
if (noDocker && process.env.CHATCAST_REQUIRE_DOCKER === '1') {
  throw new Error(`CHATCAST_REQUIRE_DOCKER=1 but ${noDocker}`);
}
if (noDocker) console.warn(`test/docker/image.test.ts skipped: ${noDocker}`);

let root: string;
let ws: string;
let remote: string;
let runLog: string;
const mounts = () => ['-v', `${ws}:/workspace`, '-v', `${remote}:/workspace-dvc-remote`];
const run = (args: string[]) => docker(['run', '--rm', ...mounts(), IMAGE, ...args]);
// A shell in the image, as root when asked (to read every file), else as the image's user.
const sh = (script: string, asRoot = false) =>
  docker(['run', '--rm', ...(asRoot ? ['--user', '0'] : []), '--entrypoint', 'sh', IMAGE, '-c', script]);

beforeAll(async () => {
  if (noDocker) return;
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  // The base image: the official one when it can be pulled, else the local stand-in docker/base-image.sh
  // builds (a no-op when the tag exists).
  if ((await docker(['image', 'inspect', BASE])).exitCode !== 0) {
    const pulled = await docker(['pull', BASE]);
    if (pulled.exitCode !== 0) {
      const started = Date.now();
      const base = await execa('bash', [join(ROOT, 'docker', 'base-image.sh')], { reject: false, all: true, stdin: 'ignore' });
      expect(base.exitCode, tail(String(base.all))).toBe(0);
      console.log(`built the local ${BASE} stand-in in ${seconds(started)}`);
    }
  }
  const started = Date.now();
  const build = await docker(['build', '--tag', IMAGE, ROOT]);
  expect(build.exitCode, tail(build.all)).toBe(0);
  console.log(`docker build ${IMAGE} took ${seconds(started)}`);

  // A workspace and its DVC remote on the host, writable by the image's user (uid 10001).
  root = await tempDir('chatcast-docker-');
  ws = join(root, 'workspace');
  remote = join(root, 'workspace-dvc-remote');
  for (const dir of [ws, remote]) {
    await mkdir(dir);
    await chmod(dir, 0o777);
  }
  const init = await run(['init']);
  expect(init.exitCode, init.all).toBe(0);
  // Nine days of history in one container (a container per step is slow), pushed as one version.
  const history = await docker([
    'run', '--rm', ...mounts(), '--entrypoint', 'sh', IMAGE, '-c',
    `set -e; for d in ${HISTORY.join(' ')}; do chatcast ingest --date $d; chatcast aggregate --date $d; done; chatcast push --date ${HISTORY.at(-1)}`,
  ]);
  expect(history.exitCode, tail(history.all)).toBe(0);
  const day = await run(['run', '--date', DAY]);
  expect(day.exitCode, tail(day.all)).toBe(0);
  runLog = day.stdout;
}, 1_200_000);

afterAll(async () => {
  if (!root) return;
  // The files belong to uid 10001 (and DVC's cache is read-only): remove them from inside a container.
  await docker(['run', '--rm', '--user', '0', '-v', `${root}:/scratch`, '--entrypoint', 'rm', IMAGE, '-rf', '/scratch/workspace', '/scratch/workspace-dvc-remote']);
  await rm(root, { recursive: true, force: true });
}, 120_000);

describe.skipIf(noDocker)(`the Docker image${noDocker ? ` (skipped: ${noDocker})` : ''}`, () => {
  it('runs the CLI: `docker run IMAGE --help` lists the steps', async () => {
    const help = await docker(['run', '--rm', IMAGE, '--help']);
    expect(help.exitCode, help.all).toBe(0);
    for (const step of ['init', 'pull', 'ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report', 'push', 'run']) {
      expect(help.stdout).toMatch(new RegExp(`chatcast ${step}\\b`));
    }
  });

  it('fails a bad --date with exit code 2 and the message on stderr', async () => {
    const bad = await docker(['run', '--rm', IMAGE, 'ingest', '--date', '2024-13-01']);
    expect(bad.exitCode, bad.all).toBe(2);
    expect(bad.stderr).toContain('Invalid --date "2024-13-01": expected YYYY-MM-DD');
  });

  it('runs a day of the pipeline on a mounted workspace: Chromium charts, a tfjs backend, DVC + git versions', async () => {
    for (const chart of ['actual.png', 'forecast.png']) {
      const png = PNG.sync.read(await readFile(join(ws, dayPath('render', DAY), chart)));
      expect([png.width, png.height]).toEqual([1200, 600]);
      expect(existsSync(join(ws, dayPath('report/outbox', DAY), chart))).toBe(true);
    }
    expect(runLog).toMatch(/"step":"train".*"backend":"(wasm|tensorflow)"/);
    expect(runLog).toMatch(/"step":"forecast".*"backend":"(wasm|tensorflow)"/);
    const tags = await docker(['run', '--rm', ...mounts(), '--entrypoint', 'git', IMAGE, 'tag']);
    expect(tags.stdout.trim().split('\n')).toEqual([HISTORY.at(-1), DAY]);
    // The remote on its own mount got the data, so it outlives the container.
    expect(readdirSync(remote).length).toBeGreaterThan(0);
  });

  it('git accepts the mounted workspace when another uid owns it', async () => {
    const status = await docker(['run', '--rm', '--user', '4242', ...mounts(), '--entrypoint', 'git', IMAGE, 'status', '--porcelain']);
    expect(status.exitCode, status.all).toBe(0);
    expect(status.stdout.trim()).toBe('');
  });

  it('runs as a non-root user', async () => {
    const id = await docker(['run', '--rm', '--entrypoint', 'id', IMAGE, '-u']);
    expect(id.exitCode, id.all).toBe(0);
    expect(id.stdout.trim()).not.toBe('0');
    expect(id.stdout.trim()).toBe('10001');
  });

  it('has a font with Cyrillic glyphs for the charts', async () => {
    const fonts = await sh('fc-list :lang=ru');
    expect(fonts.exitCode, fonts.all).toBe(0);
    expect(fonts.stdout.trim()).not.toBe('');
    expect(fonts.stdout).toContain('DejaVu Sans');
  });

  it('carries no secrets: no secret-looking env, build args or files from the build host', async () => {
    const inspect = JSON.parse((await docker(['image', 'inspect', IMAGE])).stdout)[0];
    const env: string[] = inspect.Config.Env;
    const secret = /TELEGRAM|TOKEN|SECRET|PASSW|API_?KEY|SESSION|CREDENTIAL|AUTH/i;
    expect(env.filter((e) => secret.test(e.split('=')[0]))).toEqual([]);
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', IMAGE]);
    expect(history.exitCode, history.all).toBe(0);
    expect(history.stdout).not.toMatch(/TELEGRAM_|TOKEN=|SECRET|PASSWORD|API_?KEY/i);
    // The build host's own CA certificates (e.g. a TLS-intercepting proxy's) may sit in the local base
    // stand-in, but no layer chatcast adds may contain them: not the system bundle, not pip's certifi.
    // The Dockerfile squashes the base into a system layer of its own (dropping the stand-in's bundle):
    // then none may be left; on top of the base's own layers, only the base's files may hold them.
    const localCas = '/usr/local/share/ca-certificates';
    const marks = !existsSync(localCas)
      ? []
      : readdirSync(localCas, { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.crt'))
          .flatMap((f) => readFileSync(join(localCas, f), 'utf8').split('\n').filter((l) => /^[A-Za-z0-9+/]{64}$/.test(l)).slice(1, 2));
    if (marks.length === 0) return;
    const find = `find / -xdev -type f -print0 | xargs -0 grep -lF ${marks.map((m) => `-e '${m}'`).join(' ')} 2>/dev/null | sort; true`;
    const inImage = await sh(find, true);
    const inBase = await docker(['run', '--rm', '--user', '0', '--entrypoint', 'sh', BASE, '-c', find]);
    const files = (out: string) => out.trim().split('\n').filter(Boolean);
    const layers = async (image: string) => JSON.parse((await docker(['image', 'inspect', image])).stdout)[0].RootFS.Layers as string[];
    const onBase = (await layers(IMAGE))[0] === (await layers(BASE))[0];
    expect(files(inImage.stdout).filter((f) => !(onBase && files(inBase.stdout).includes(f)))).toEqual([]);
  });
});

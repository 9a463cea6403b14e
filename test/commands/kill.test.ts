import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { readLease } from '../../tasks/io/lease.js';
import { chatcast, CLI, tempDir, workspaceWithHistory } from '../helpers.js';
import { artifacts, describeMoment, isTempName, killMoments, rng, runStep, tempFiles, writeBigExport, type Moment } from '../support/kill.js';

// kill -9 at random moments of every step of a day, then the step's rerun: its artifacts must equal
// those of an uninterrupted twin byte for byte, with no half-written file left, versioned or pushed.
//
// CHATCAST_KILLS kills per step (3 in CI; `npm run test:kill` runs 20), at moments drawn from
// CHATCAST_KILL_SEED (printed: the same seed gives the same moments). Each step starts from a copy
// of the workspace (and its DVC remote) as the day's earlier steps left it, restored in place, since
// .dvc/config names the remote by its absolute path.

const KILLS = Math.max(1, Number(process.env.CHATCAST_KILLS ?? 3));
const SEED = process.env.CHATCAST_KILL_SEED ?? Math.floor(Math.random() * 1e9).toString(36);
const EXPORT_MESSAGES = Number(process.env.CHATCAST_KILL_EXPORT_MESSAGES ?? 30_000);
const FIRST = '2024-03-20';
const YESTERDAY = '2024-03-29'; // a whole `run`, so evaluate scores a forecast and track has a day before
const DAY = '2024-03-30';

// Secrets and deployment settings of the machine running the tests would change what steps do.
for (const key of Object.keys(process.env)) {
  if (/^(TELEGRAM_|MLFLOW_|CLEARML_)/.test(key) || ['CHATCAST_TRACKERS', 'CHATCAST_DVC_REMOTE', 'CHATCAST_TIMEZONE', 'CHATCAST_WORKSPACE', 'CHATCAST_CHAT_ID', 'CHATCAST_LEASE_TTL_MINUTES', 'CHATCAST_MLFLOW_UI_URL'].includes(key)) {
    delete process.env[key];
  }
}

interface Step {
  name: string;
  args: () => string[]; // after the command: --date and --workspace come first
  from?: string; // the step whose starting state this one shares (an export import starts where ingest does)
  pushes?: boolean; // commits, tags and pushes: git and the DVC remote are checked too
}

let root: string;
let ws: string;
let remote: string;
let exportFile: string;
let env: Record<string, string>;
const twins = new Map<string, { artifacts: Record<string, string>; ms: number; writes: number; kinds: string[]; head: string; tags: string; lease: string }>();
const report: string[] = [];
let failed = false; // a failure keeps the temp folder (states, workspace) for a look

const git = (...args: string[]) => execa('git', args, { cwd: ws, reject: false }).then((r) => r.stdout.trim());
const dvc = (...args: string[]) => execa(dvcBinary(), args, { cwd: ws, reject: false, env: { DVC_NO_ANALYTICS: '1', DVC_NO_UPDATE_CHECK: '1', DVC_SITE_CACHE_DIR: env.DVC_SITE_CACHE_DIR } });
const stateDir = (step: string) => join(root, 'states', step);

function steps(): Step[] {
  return [
    { name: 'pull', args: () => ['pull'] },
    { name: 'ingest', args: () => ['ingest'] },
    { name: 'ingest --source export', args: () => ['ingest', '--source', `export:${exportFile}`], from: 'ingest' },
    { name: 'aggregate', args: () => ['aggregate'] },
    { name: 'evaluate', args: () => ['evaluate'] },
    { name: 'train', args: () => ['train'] },
    { name: 'forecast', args: () => ['forecast'] },
    { name: 'render', args: () => ['render'] },
    { name: 'report', args: () => ['report'] },
    { name: 'push', args: () => ['push'], pushes: true },
    { name: 'track', args: () => ['track'], pushes: true },
  ];
}
const argv = (step: Step) => {
  const [command, ...rest] = step.args();
  return [command, '--date', DAY, '--workspace', ws, ...rest];
};

// track records when it sent the day (track/ledger.json "tracked_at", masked by artifacts()), so the
// md5 of that file in dvc.lock differs from the twin's too: masked here, and checked against the file.
const masks = (step: Step): Record<string, (bytes: Buffer) => Buffer> =>
  step.name === 'track' ? { 'dvc.lock': (bytes) => Buffer.from(bytes.toString('utf8').replace(LEDGER_MD5, '$1(when)')) } : {};
const LEDGER_MD5 = /(- path: track\/ledger\.json\n\s+hash: md5\n\s+md5: )[0-9a-f]{32}/;

async function save(name: string) {
  await mkdir(stateDir(name), { recursive: true });
  await execa('cp', ['-a', ws, remote, stateDir(name)]);
}

// Puts the workspace and its remote back as they were before `name`, at the same paths.
async function restore(name: string) {
  await rm(ws, { recursive: true, force: true });
  await rm(remote, { recursive: true, force: true });
  // DVC remembers which objects the remote holds (its site cache, keyed by the workspace's path); a
  // remote put back to an earlier state would contradict that memory, as no real remote does.
  await rm(join(root, 'dvc-site-cache'), { recursive: true, force: true });
  await execa('cp', ['-a', join(stateDir(name), basename(ws)), join(stateDir(name), basename(remote)), root]);
}

// The lease without its timestamps: which day, held by a process or not, failed or not.
async function leaseState(): Promise<string> {
  const lease = await readLease(ws);
  return lease ? JSON.stringify({ day: lease.day, held: Boolean(lease.holder), failed: Boolean(lease.failed) }) : 'none';
}

// What the CLI and git keep of a day that is not an artifact but must match too.
async function versions() {
  return { head: await git('rev-parse', 'HEAD'), tags: await git('tag', '--list', '--format=%(refname:short) %(objectname)'), lease: await leaseState() };
}

// Names a DVC directory listing of dvc.lock holds that look like temp files.
async function tempNamesInDvcListings(): Promise<string[]> {
  const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8')) as { stages: Record<string, { outs?: { path: string; md5?: string }[] }> };
  const found: string[] = [];
  for (const stage of Object.values(lock.stages ?? {})) {
    for (const out of stage.outs ?? []) {
      if (!out.md5?.endsWith('.dir')) continue;
      const listing = join(ws, '.dvc', 'cache', 'files', 'md5', out.md5.slice(0, 2), out.md5.slice(2));
      if (!existsSync(listing)) {
        found.push(`${out.path}: listing ${out.md5} missing from the cache`);
        continue;
      }
      for (const entry of JSON.parse(await readFile(listing, 'utf8')) as { relpath: string }[]) {
        if (entry.relpath.split('/').some(isTempName)) found.push(`${out.path}/${entry.relpath}`);
      }
    }
  }
  return found;
}

beforeAll(async () => {
  failed = true; // until the twins are made
  const started = Date.now();
  root = await tempDir('chatcast-kill-');
  await mkdir(join(root, 'tmp'));
  env = {
    CHATCAST_LOG_LEVEL: 'info',
    TMPDIR: join(root, 'tmp'), // a killed render leaves its Chromium profile here, not in the machine's /tmp
    DVC_SITE_CACHE_DIR: join(root, 'dvc-site-cache'), // cleared with each restore (see restore)
    // Fixed commit dates: a rerun that commits what the twin committed makes the same commit.
    GIT_AUTHOR_DATE: '2024-03-31T06:00:00Z',
    GIT_COMMITTER_DATE: '2024-03-31T06:00:00Z',
  };
  ws = await workspaceWithHistory(root, 'ws', FIRST, '2024-03-28');
  remote = join(root, 'ws-remote');
  const run = await chatcast(['run', '--date', YESTERDAY, '--workspace', ws], env);
  expect(run.exitCode, run.stderr).toBe(0);

  // The day starts on a machine that has the workspace's git history but neither its data nor a DVC
  // cache (a fresh container): pull has everything to fetch.
  const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8')) as { stages: Record<string, { outs?: { path: string }[] }> };
  for (const stage of Object.values(lock.stages)) {
    for (const out of stage.outs ?? []) if (!(await git('ls-files', '--', out.path))) await rm(join(ws, out.path), { recursive: true, force: true });
  }
  await rm(join(ws, '.dvc', 'cache'), { recursive: true, force: true });

  exportFile = join(root, 'result.json');
  await writeBigExport(exportFile, { count: EXPORT_MESSAGES, fromMs: Date.parse('2024-01-20T00:00:00Z'), toMs: Date.parse('2024-04-01T00:00:00Z'), seed: 'kill-export', chatId: 987654321 });

  // The uninterrupted twin of each step, from the state the steps before it left.
  for (const step of steps()) {
    if (step.from) continue;
    await save(step.name);
    await measure(step);
  }
  for (const step of steps().filter((s) => s.from)) {
    await restore(step.from!); // it starts where its `from` step starts
    await measure(step);
  }
  failed = false;
  report.push(`setup (history, yesterday's run, twins) ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`kill test: ${KILLS} kill(s) per step, seed ${SEED} (replay: CHATCAST_KILL_SEED=${SEED} CHATCAST_KILLS=${KILLS}${CHOSEN ? ` CHATCAST_KILL_STEPS=${CHOSEN.join(',')}` : ''}); workspace ${ws}`);
}, 900_000);

async function measure(step: Step) {
  const twin = await runStep(CLI, argv(step), { ...process.env, ...env }, ws, 'never');
  expect(twin.exit.code, `${step.name}: ${twin.output}`).toBe(0);
  twins.set(step.name, { artifacts: await artifacts(ws, masks(step)), ms: twin.ms, writes: twin.writes.length, kinds: twin.writes, ...(await versions()) });
}

// Half the kills (rounded up) at moments spread over the uninterrupted run's duration, the other half
// aimed at its writes: a few ms after the n-th write began (n random among those the twin made, see
// watchWrites), where a kill leaves half-written files, a half-renamed set, git's index.lock or a dvc.lock
// DVC was rewriting.
function moments(step: Step): Moment[] {
  const twin = twins.get(step.name)!;
  const random = rng(`${SEED}:${step.name}`);
  const aiming = twin.writes > 0 ? Math.floor(KILLS / 2) : 0;
  const timed = killMoments(random, KILLS - aiming, twin.ms).map((afterMs) => ({ afterMs }));
  const aimed = Array.from({ length: aiming }, (_, i) => ({
    write: 1 + Math.min(twin.writes - 1, Math.floor(((i + random()) / aiming) * twin.writes)),
    extraMs: Math.floor(random() * 20),
  }));
  return timed.flatMap((t, i) => (aimed[i] ? [t, aimed[i]] : [t]));
}

// "3 × ingest/.*.tmp, 1 × .git/index.lock": writes by kind, temp names without their random part.
function tally(writes: string[]): string {
  const counts = new Map<string, number>();
  for (const w of writes) {
    const kind = w
      .replace(/\.[0-9a-f]{12}\.tmp$/, '.*.tmp')
      .replace(/\/\.[A-Za-z0-9_-]{22}\.tmp$/, '/.DVC.tmp') // DVC's own, as it checks a file out
      .replace(/^ingest\/\.\d{4}-\d{2}-\d{2}\.jsonl/, 'ingest/.DAY.jsonl')
      .replace(/\/\d{4}-\d{2}-\d{2}\//, '/DAY/');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`).join(', ');
}

// Everything a rerun after a kill must satisfy; returns what is wrong.
async function check(step: Step): Promise<string[]> {
  const twin = twins.get(step.name)!;
  const wrong: string[] = [];
  const mine = await artifacts(ws, masks(step));
  const differ = [...new Set([...Object.keys(mine), ...Object.keys(twin.artifacts)])].filter((f) => mine[f] !== twin.artifacts[f]);
  if (differ.length > 0) wrong.push(`artifacts differ from the uninterrupted run's: ${differ.map((f) => `${f} (${mine[f] ? (twin.artifacts[f] ? 'changed' : 'extra') : 'missing'})`).join(', ')}`);
  const temps = await tempFiles(ws);
  if (temps.length > 0) wrong.push(`temp files left: ${temps.join(', ')}`);
  const tracked = (await git('ls-files')).split('\n').filter((f) => f.split('/').some(isTempName));
  if (tracked.length > 0) wrong.push(`temp files tracked by git: ${tracked.join(', ')}`);
  const listed = await tempNamesInDvcListings();
  if (listed.length > 0) wrong.push(`in DVC directory listings: ${listed.join(', ')}`);
  const now = await versions();
  if (now.lease !== twin.lease) wrong.push(`lease ${now.lease}, the uninterrupted run left ${twin.lease}`);
  // A rerun that commits what the twin committed makes the same commit (fixed dates), except track's,
  // whose ledger records when each tracker got the day.
  if (step.name !== 'track' && now.head !== twin.head) wrong.push(`HEAD ${now.head}, the uninterrupted run made ${twin.head}`);
  if (step.name !== 'track' && now.tags !== twin.tags) wrong.push(`tags ${JSON.stringify(now.tags)}, expected ${JSON.stringify(twin.tags)}`);
  if (step.pushes) {
    const status = await git('status', '--porcelain');
    if (status) wrong.push(`git status not clean: ${status}`);
    if (!(await git('tag', '--list', DAY))) wrong.push(`no tag ${DAY}`);
    else if ((await git('rev-parse', `${DAY}^{commit}`)) !== now.head) wrong.push(`tag ${DAY} is not HEAD`);
    const lock = await readFile(join(ws, 'dvc.lock'), 'utf8');
    const ledgerMd5 = lock.match(LEDGER_MD5)?.[0].slice(-32);
    const ledger = await readFile(join(ws, 'track', 'ledger.json')).catch(() => undefined);
    if (ledgerMd5 && ledgerMd5 !== (ledger && createHash('md5').update(ledger).digest('hex'))) wrong.push(`dvc.lock has another md5 for track/ledger.json than the file${ledger ? '' : ' (missing)'}`);
    const local = await dvc('status');
    if (local.exitCode !== 0 || !/up to date/.test(local.stdout)) wrong.push(`dvc status: ${local.stdout} ${local.stderr}`.trim());
    const cloud = await dvc('status', '--cloud');
    if (cloud.exitCode !== 0 || !/in sync/.test(cloud.stdout)) wrong.push(`dvc status --cloud: ${cloud.stdout} ${cloud.stderr}`.trim());
  }
  return wrong;
}

// CHATCAST_KILL_STEPS=push,track kills only those steps (the setup still runs the day up to them).
const CHOSEN = process.env.CHATCAST_KILL_STEPS?.split(',').map((s) => s.trim());

describe(`kill -9 at random moments of each step of a day (${KILLS} per step)`, () => {
  for (const step of steps().filter((s) => !CHOSEN || CHOSEN.includes(s.name))) {
    it(`${step.name}: the rerun after a kill leaves what an uninterrupted run leaves`, async () => {
      const twin = twins.get(step.name)!;
      const failures: string[] = [];
      const seen = { killed: 0, ended: 0, leftTemps: 0, remoteTemps: 0, triggers: [] as string[] };
      const started = Date.now();
      const planned = moments(step);
      for (const [i, moment] of planned.entries()) {
        await restore(step.from ?? step.name);
        const killed = await runStep(CLI, argv(step), { ...process.env, ...env }, ws, moment);
        if (killed.killed) seen.killed++;
        else seen.ended++;
        if (killed.trigger && 'write' in (moment as object)) seen.triggers.push(killed.trigger);
        const left = await tempFiles(ws);
        if (left.length > 0) seen.leftTemps++;
        const rerun = await chatcast(argv(step), env);
        const where = `seed ${SEED}, step ${step.name}, kill ${i + 1}/${KILLS} ${describeMoment(moment)} (${killed.killed ? `killed at ${killed.ms} ms${left.length ? `, leaving ${left.join(', ')}` : ''}` : `it had ended with ${killed.exit.code} at ${killed.ms} ms`})`;
        if (rerun.exitCode !== 0) {
          failures.push(`${where}: rerun exited ${rerun.exitCode}: ${rerun.stderr.trim()}`);
          continue;
        }
        const wrong = await check(step).catch((error: Error) => [`checking failed: ${error.stack ?? error}`]);
        if (wrong.length > 0) failures.push(`${where}: ${wrong.join('; ')}`);
        // Not an artifact: DVC's partial uploads stay in the remote (it may be S3); noted, not refused.
        if ((await tempFiles(remote)).length > 0) seen.remoteTemps++;
      }
      const line =
        `${step.name}: uninterrupted ${(twin.ms / 1000).toFixed(1)} s, ${twin.writes} writes (${tally(twin.kinds)}); ${KILLS} kill(s) (${planned.map(describeMoment).join('; ')}): ` +
        `${seen.killed} killed mid-run, ${seen.leftTemps} of them leaving temp files${seen.triggers.length ? ` (aimed at ${tally(seen.triggers)})` : ''}, ${seen.ended} ended first; ` +
        (seen.remoteTemps ? `${seen.remoteTemps} left a partial upload in the DVC remote; ` : '') +
        `${failures.length} failure(s); ${((Date.now() - started) / 1000).toFixed(0)} s`;
      report.push(line);
      console.log(line);
      failed ||= failures.length > 0;
      expect(failures, failures.join('\n')).toEqual([]);
    }, 120_000 + KILLS * 90_000);
  }

  it('report', () => {
    console.log(`kill test, seed ${SEED}, ${KILLS} kill(s) per step:\n  ${report.join('\n  ')}`);
  });
});

afterAll(async () => {
  if (!root) return;
  if (failed || process.env.CHATCAST_KILL_KEEP) console.log(`kill test: kept ${root} (the state before each step is in ${join(root, 'states')})`);
  else await rm(root, { recursive: true, force: true });
});

// Benchmark: one day of `chatcast run` on a workspace with a year of history (median of 3 consecutive
// days after 1 warm-up day), split into process start, DVC/git child processes, Chromium and the rest
// (compute and file work); and `chatcast --help` start-up (median of 10). Targets: a day ≤ 3 s, start-up
// ≤ 150 ms. Local only: no bot token, the local tracker, a folder remote.
// Run: npm run bench:daily [-- --days N] [-- --verbose: every dvc/git process of each run, with its time]
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { dvcBinary } from '../dist/io/dvc.js';
import { openWorkspace } from '../dist/io/workspace.js';
import { ingest } from '../dist/commands/ingest.js';
import { aggregate } from '../dist/commands/aggregate.js';
import { addDays, daysFrom, lastEndedDay } from '../dist/core/dates.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const TARGETS = { day: 3000, startup: 150 };
const argv = process.argv.slice(2);
const HISTORY_DAYS = argv.includes('--days') ? Number(argv[argv.indexOf('--days') + 1]) : 365;
const VERBOSE = argv.includes('--verbose');
const RUNS = 3;
const ZONE = 'Europe/Berlin';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The environment of every spawned chatcast: nothing that would reach a network or change the zone.
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(TELEGRAM_|MLFLOW_|CLEARML_|AWS_)/.test(k) && !['CHATCAST_DVC_REMOTE', 'CHATCAST_TIMEZONE', 'CHATCAST_WORKSPACE'].includes(k)),
);

// Runs a command and resolves with its wall time in ms, stdout and exit code.
function timed(cmd, args, env = baseEnv) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout, stderr }));
  });
}

async function chatcast(args, env) {
  const result = await timed(process.execPath, [CLI, ...args], env);
  if (result.code !== 0) throw new Error(`chatcast ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result;
}

// Total length of the union of [start, end] intervals: DVC's own git calls nest inside a dvc call.
function covered(intervals) {
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

const root = await mkdtemp(join(tmpdir(), 'chatcast-bench-daily-'));
try {
  // Shims that time every dvc and git process the CLI starts.
  const shims = join(root, 'bin');
  const toolLog = join(root, 'tools.log');
  const gitPath = (await timed('sh', ['-c', 'command -v git'])).stdout.trim();
  const shim = (name, real) =>
    `#!/bin/sh\ns=$(date +%s%N)\n"${real}" "$@"\nrc=$?\necho "$s $(date +%s%N) ${name} $1" >> "${toolLog}"\nexit $rc\n`;
  await mkdir(shims);
  await writeFile(join(shims, 'git'), shim('git', gitPath));
  await writeFile(join(shims, 'dvc'), shim('dvc', dvcBinary()));
  await chmod(join(shims, 'git'), 0o755);
  await chmod(join(shims, 'dvc'), 0o755);
  const measuredEnv = { ...baseEnv, CHATCAST_LOG_LEVEL: 'debug', CHATCAST_DVC: join(shims, 'dvc'), PATH: `${shims}${delimiter}${process.env.PATH}` };

  // A year of simulated history, ingested and aggregated in process and pushed as one version.
  const ws = join(root, 'ws');
  const last = lastEndedDay(ZONE);
  const days = daysFrom(addDays(last, -(RUNS + HISTORY_DAYS)), addDays(last, -(RUNS + 1)));
  const setup = performance.now();
  await chatcast(['init', '--workspace', ws, '--remote', join(root, 'remote'), '--timezone', ZONE, '--source', 'simulate']);
  const workspace = await openWorkspace(ws);
  const quiet = { log: pino({ level: 'silent' }), now: () => Date.now(), interactive: false };
  for (const day of days) {
    await ingest(workspace, day, quiet);
    await aggregate(workspace, day, quiet);
  }
  await chatcast(['push', '--date', days.at(-1), '--workspace', ws]);
  console.log(`workspace: ${HISTORY_DAYS} days of history (${days[0]} … ${days.at(-1)}), made in ${((performance.now() - setup) / 1000).toFixed(1)} s`);

  // Day 1 warms the workspace (first forecast, first charts); days 2…4 are timed.
  const runs = [];
  for (const [i, day] of daysFrom(addDays(last, -RUNS), last).entries()) {
    await rm(toolLog, { force: true });
    const { ms, stdout } = await chatcast(['run', '--date', day, '--workspace', ws], measuredEnv);
    const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const tools = (await readFile(toolLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(' '));
    const span = (name) => covered(tools.filter((t) => name === undefined || t[2] === name).map(([s, e]) => [Number(s) / 1e6, Number(e) / 1e6]));
    const start = lines.find((l) => l.startup_ms !== undefined)?.startup_ms ?? NaN;
    const chromium = lines.find((l) => l.step === 'render' && l.chromium_ms !== undefined)?.chromium_ms ?? NaN;
    const steps = lines.find((l) => l.step === 'run' && l.ms)?.ms ?? {};
    const dvc = span();
    const calls = tools.reduce((n, [, , name, sub]) => ({ ...n, [`${name} ${sub}`]: (n[`${name} ${sub}`] ?? 0) + 1 }), {});
    const run = { day, ms, start, dvc, dvcOnly: span('dvc'), chromium, compute: ms - start - dvc - chromium, steps, calls };
    if (i > 0) runs.push(run);
    if (VERBOSE) for (const [s, e, name, sub] of tools) console.log(`    ${((Number(e) - Number(s)) / 1e6).toFixed(0).padStart(6)} ms  ${name} ${sub}`);
    console.log(`${i === 0 ? 'warm-up' : `run ${i}  `} ${day}: ${ms.toFixed(0)} ms (start ${start}, dvc+git ${dvc.toFixed(0)}, chromium ${chromium}) steps ${JSON.stringify(steps)}`);
  }

  // Start-up: `chatcast --help`, and bare node for scale.
  const help = [];
  const bare = [];
  for (let i = 0; i < 10; i++) {
    help.push((await chatcast(['--help'])).ms);
    bare.push((await timed(process.execPath, ['-e', '0'])).ms);
  }

  const day = median(runs.map((r) => r.ms));
  const mid = runs.find((r) => r.ms === day);
  const share = (ms) => `${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / day).toFixed(0).padStart(3)}%`;
  console.log('');
  console.log(`chatcast run, one day, median of ${RUNS} (${mid.day}), ${process.version}:`);
  console.log(`  process start (node + modules)  ${share(mid.start)}`);
  console.log(`  DVC and git child processes     ${share(mid.dvc)}   (dvc alone ${mid.dvcOnly.toFixed(0)} ms; wall time while any ran, overlap with compute included)`);
  console.log(`  Chromium, waited for in render  ${share(mid.chromium)}   (it starts while DVC pulls)`);
  console.log(`  compute and files (the rest)    ${share(mid.compute)}`);
  console.log(`  child processes: ${Object.entries(mid.calls).sort().map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  console.log('');
  const helpMs = median(help);
  const rows = [
    ['chatcast run, one day', day, TARGETS.day],
    ['chatcast --help start-up', helpMs, TARGETS.startup],
  ];
  console.log('measure                      measured     target   result');
  for (const [name, ms, target] of rows) console.log(`${name.padEnd(26)} ${ms.toFixed(0).padStart(8)} ms ≤ ${String(target).padStart(5)} ms   ${ms <= target ? 'PASS' : 'FAIL'}`);
  console.log(`(bare \`node -e 0\` on this machine: ${median(bare).toFixed(0)} ms, median of 10)`);
  process.exitCode = rows.every(([, ms, target]) => ms <= target) ? 0 : 1;
} finally {
  await rm(root, { recursive: true, force: true });
}

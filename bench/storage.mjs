// Benchmark: how much the DVC remote grows per day. For each history length (1 and 5 years by
// default), a workspace with that much simulated history is pushed, then `chatcast run` does
// 30 daily cycles against a local folder remote. Each day's new remote objects are
// attributed to the files they hold: the day's partition, the charts, the rest, and DVC's directory
// listings (.dir). Target: growth per day ≤ the day's partition + 200 KB + the charts, whatever the
// history's length. Afterwards a fresh clone restores three of the days exactly, with `git checkout
// <day> && dvc pull`, and so does the workspace itself, with `git checkout <day> && dvc checkout`.
// Run: npm run bench:storage [-- --years 1,5] [-- --days 30]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import YAML from 'yaml';
import { dvcBinary } from '../dist/io/dvc.js';
import { openWorkspace } from '../dist/io/workspace.js';
import { ingest } from '../dist/commands/ingest.js';
import { aggregate } from '../dist/commands/aggregate.js';
import { addDays, daysFrom, lastEndedDay } from '../dist/core/dates.js';
import { dayPath } from '../dist/core/pipeline.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const YEARS = option('--years', '1,5').split(',').map(Number);
const CYCLES = Number(option('--days', '30'));
const ALLOWANCE = 200 * 1024; // bytes a day may add beyond its own partition and charts
const ZONE = 'Europe/Berlin';
const TRACKED = ['ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report', 'track'];

const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(TELEGRAM_|MLFLOW_|CLEARML_|AWS_)/.test(k) && !['CHATCAST_DVC_REMOTE', 'CHATCAST_TIMEZONE', 'CHATCAST_WORKSPACE'].includes(k)),
);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}): ${out.slice(-2000)}`))));
  });
}
const chatcast = (...args) => run(process.execPath, [CLI, ...args]);

// Every file under `dir` (recursively) as relative path → size.
async function files(dir) {
  const out = new Map();
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), (await stat(p)).size);
    }
  };
  await walk(dir);
  return out;
}

// The md5 of every file DVC tracks in the workspace (DVC names its objects by it), path by md5.
async function trackedByMd5(ws) {
  const byMd5 = new Map();
  for (const top of TRACKED) {
    for (const [rel] of await files(join(ws, top))) {
      if (rel.endsWith('.tmp')) continue;
      const md5 = createHash('md5').update(await readFile(join(ws, top, rel))).digest('hex');
      if (!byMd5.has(md5)) byMd5.set(md5, []);
      byMd5.get(md5).push(`${top}/${rel}`);
    }
  }
  return byMd5;
}

// A day's tracked files as path → md5, to compare a restore with.
async function snapshot(ws) {
  const out = {};
  for (const top of TRACKED) for (const [rel] of await files(join(ws, top))) if (!rel.endsWith('.tmp')) out[`${top}/${rel}`] = createHash('md5').update(await readFile(join(ws, top, rel))).digest('hex');
  return out;
}

// Gives every day of the history what a day of `chatcast run` leaves, modelled on the warm-up day `warm`:
// a forecast, two charts, the outbox, and a row or entry in each ledger and history. What a day adds
// to the remote depends on how many days the workspace holds, so the history must hold them all.
async function fabricate(ws, history, warm) {
  const swap = (text, day) => text.replaceAll(addDays(warm, 1), addDays(day, 1)).replaceAll(warm, day);
  const forecastText = await readFile(join(ws, dayPath('forecast', addDays(warm, 1), '.json')), 'utf8');
  const charts = Object.fromEntries(await Promise.all(['actual.png', 'forecast.png'].map(async (n) => [n, await readFile(join(ws, dayPath('render', warm), n))])));
  const outbox = Object.fromEntries(await Promise.all((await readdir(join(ws, dayPath('report/outbox', warm)))).map(async (n) => [n, await readFile(join(ws, dayPath('report/outbox', warm), n))])));
  for (const day of history) {
    const next = join(ws, dayPath('forecast', addDays(day, 1), '.json'));
    await mkdir(dirname(next), { recursive: true });
    if (!(await stat(next).catch(() => null))) await writeFile(next, swap(forecastText, day));
    await mkdir(join(ws, dayPath('render', day)), { recursive: true });
    await mkdir(join(ws, dayPath('report/outbox', day)), { recursive: true });
    for (const [n, bytes] of Object.entries(charts)) await writeFile(join(ws, dayPath('render', day), n), Buffer.concat([bytes, Buffer.from(day)]));
    for (const [n, bytes] of Object.entries(outbox)) {
      const data = n in charts ? Buffer.concat([charts[n], Buffer.from(day)]) : swap(bytes.toString('utf8'), day);
      await writeFile(join(ws, dayPath('report/outbox', day), n), data);
    }
  }
  // One row per day in each TSV history (the day first), one entry per day in each ledger.
  for (const file of ['evaluate/history.tsv', 'track/history.tsv']) {
    const [header, ...rows] = (await readFile(join(ws, file), 'utf8')).trim().split('\n');
    const model = rows.find((r) => r.startsWith(`${warm}\t`));
    const first = history[0];
    const made = history.map((day) => {
      const cells = swap(model, day).split('\t');
      if (file.startsWith('track/')) cells[1] = String(Math.round((Date.parse(day) - Date.parse(first)) / 86_400_000));
      return cells.join('\t');
    });
    await writeFile(join(ws, file), [header, ...made, ...rows].join('\n') + '\n');
  }
  // (report/ledger.json exists only where a bot token posts the reports; this benchmark posts nothing.)
  const tracked = JSON.parse(await readFile(join(ws, 'track', 'ledger.json'), 'utf8'));
  for (const entry of Object.values(tracked.trackers)) {
    for (const day of history) entry.days[day] = JSON.parse(swap(JSON.stringify(entry.days[warm]), day));
    entry.days = Object.fromEntries(Object.entries(entry.days).sort());
  }
  await writeFile(join(ws, 'track', 'ledger.json'), JSON.stringify(tracked, null, 2) + '\n');
}

// The git repository's size once packed (what a git origin would hold), in bytes.
async function gitSize(ws) {
  await run('git', ['gc', '--quiet', '--prune=now'], ws);
  const counts = Object.fromEntries((await run('git', ['count-objects', '-v'], ws)).trim().split('\n').map((l) => l.split(': ')));
  return (Number(counts['size-pack']) + Number(counts.size)) * 1024;
}

const quiet = { log: pino({ level: 'silent' }), now: () => Date.now(), interactive: false };
const results = [];
const root = await mkdtemp(join(tmpdir(), 'chatcast-bench-storage-'));
try {
  for (const years of YEARS) {
    const dir = join(root, `${years}y`);
    const ws = join(dir, 'ws');
    const remote = join(dir, 'remote');
    const last = lastEndedDay(ZONE);
    const historyDays = Math.round(years * 365.25);
    const history = daysFrom(addDays(last, -(CYCLES + historyDays)), addDays(last, -(CYCLES + 1))); // then a warm-up day and the CYCLES measured
    const setup = performance.now();
    await chatcast('init', '--workspace', ws, '--remote', remote, '--timezone', ZONE, '--source', 'simulate');
    const workspace = await openWorkspace(ws);
    for (const day of history) await ingest(workspace, day, quiet);
    await aggregate(workspace, history.at(-1), quiet); // one pass over every ingested day
    await chatcast('push', '--date', history.at(-1), '--workspace', ws);
    // The warm-up day: the first forecast, charts and report, the model for every day of the history.
    const warm = addDays(last, -CYCLES);
    await chatcast('run', '--date', warm, '--workspace', ws);
    await fabricate(ws, history, warm);
    await chatcast('push', '--date', warm, '--workspace', ws);
    console.log(`${years} year(s): ${history.length} days of history (${history[0]} … ${history.at(-1)}), each with what a day of chatcast run leaves, pushed in ${((performance.now() - setup) / 1000).toFixed(0)} s`);

    const gitBefore = await gitSize(ws);
    const days = [];
    const snapshots = {};
    let before = await files(remote);
    for (const day of daysFrom(addDays(last, -CYCLES + 1), last)) {
      await chatcast('run', '--date', day, '--workspace', ws);
      const after = await files(remote);
      const added = [...after].filter(([rel]) => !before.has(rel));
      const byMd5 = await trackedByMd5(ws);
      const parts = { partition: 0, charts: 0, listings: 0, other: 0 };
      const others = new Map();
      const lists = new Map();
      const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8'));
      const listings = new Map(Object.values(lock.stages).flatMap((st) => (st.outs ?? []).filter((o) => o.md5?.endsWith('.dir')).map((o) => [o.md5, o.path])));
      for (const [rel, size] of added) {
        const md5 = rel.split('/').slice(-2).join('').replace(/\.dir$/, '');
        const paths = byMd5.get(md5) ?? [];
        const path = paths[0];
        if (rel.endsWith('.dir')) {
          parts.listings += size;
          const out = listings.get(`${md5}.dir`) ?? 'unknown';
          lists.set(out, (lists.get(out) ?? 0) + size);
        }
        else if (path === dayPath('ingest', day, '.jsonl')) parts.partition += size;
        else if (paths.some((p) => p.startsWith(`${dayPath('render', day)}/`))) parts.charts += size;
        else {
          parts.other += size;
          const name = path ? path.replace(/\d{4}-\d{2}-\d{2}/g, 'D').replace(/\d{4}-\d{2}\.tsv$/, 'YYYY-MM.tsv') : 'unknown';
          others.set(name, (others.get(name) ?? 0) + size);
        }
      }
      const growth = added.reduce((s, [, size]) => s + size, 0);
      const excess = growth - parts.partition - parts.charts;
      days.push({ day, growth, excess, parts, others, lists });
      snapshots[day] = await snapshot(ws);
      before = after;
    }
    const worst = days.reduce((a, b) => (b.excess > a.excess ? b : a));
    const mean = (f) => days.reduce((s, d) => s + f(d), 0) / days.length;
    console.log(`  ${days.length} daily runs: remote growth per day ${kb(mean((d) => d.growth))} on average (partition ${kb(mean((d) => d.parts.partition))}, charts ${kb(mean((d) => d.parts.charts))}, DVC listings ${kb(mean((d) => d.parts.listings))}, other files ${kb(mean((d) => d.parts.other))})`);
    const otherTotals = new Map();
    for (const d of days) for (const [name, size] of d.others) otherTotals.set(name, (otherTotals.get(name) ?? 0) + size / days.length);
    const listTotals = new Map();
    for (const d of days) for (const [name, size] of d.lists) listTotals.set(name, (listTotals.get(name) ?? 0) + size / days.length);
    console.log(`  DVC listings per day: ${[...listTotals].sort((a, b) => b[1] - a[1]).map(([n, s]) => `${n}/ ${kb(s)}`).join(', ')}`);
    console.log(`  other files per day: ${[...otherTotals].sort((a, b) => b[1] - a[1]).map(([n, s]) => `${n} ${kb(s)}`).join(', ')}`);
    const gitPerDay = ((await gitSize(ws)) - gitBefore) / days.length;
    console.log(`  git (dvc.lock, the texts kept in git), packed: ${kb(gitPerDay)} per day`);
    console.log(`  beyond the partition and the charts: ${kb(mean((d) => d.excess))} on average, ${kb(worst.excess)} at most (${worst.day})`);

    // Every day comes back exactly: in a fresh clone with dvc pull, and in the workspace with dvc checkout.
    const sample = [days[0].day, days[Math.floor(days.length / 2)].day, days.at(-1).day];
    const clone = join(dir, 'clone');
    await run('git', ['clone', '--quiet', ws, clone]);
    const restored = [];
    for (const day of sample) {
      await run('git', ['checkout', '--quiet', day], clone);
      await run(dvcBinary(), ['pull', '--quiet', '--force'], clone);
      const cloneSame = JSON.stringify(await snapshot(clone)) === JSON.stringify(snapshots[day]);
      await run('git', ['checkout', '--quiet', day], ws);
      await run(dvcBinary(), ['checkout', '--quiet', '--force'], ws);
      const wsSame = JSON.stringify(await snapshot(ws)) === JSON.stringify(snapshots[day]);
      restored.push({ day, ok: cloneSame && wsSame });
      console.log(`  ${day}: fresh clone + dvc pull ${cloneSame ? 'identical' : 'DIFFERS'}; git checkout + dvc checkout ${wsSame ? 'identical' : 'DIFFERS'}`);
    }
    results.push({ years, mean: mean((d) => d.excess), worst: worst.excess, restored, gitPerDay });
  }

  console.log('');
  console.log('measure                                              measured      target     result');
  let ok = true;
  for (const r of results) {
    const pass = r.worst <= ALLOWANCE;
    ok &&= pass;
    console.log(`${`${r.years} y: daily growth beyond partition + charts (max)`.padEnd(52)} ${kb(r.worst).padStart(10)} ≤ ${kb(ALLOWANCE).padStart(9)}   ${pass ? 'PASS' : 'FAIL'}`);
    const same = r.restored.every((x) => x.ok);
    ok &&= same;
    console.log(`${`${r.years} y: ${r.restored.length} days restored exactly`.padEnd(52)} ${String(r.restored.filter((x) => x.ok).length).padStart(10)} = ${String(r.restored.length).padStart(9)}   ${same ? 'PASS' : 'FAIL'}`);
  }
  if (results.length > 1) {
    const [a, b] = [results[0], results.at(-1)];
    console.log(`growth beyond partition + charts, ${b.years} y ÷ ${a.years} y: ${(b.mean / a.mean).toFixed(2)}× on average (independent of the history's length would be 1×)`);
  }
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(root, { recursive: true, force: true });
}

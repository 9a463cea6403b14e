// Benchmark: the 300-origin backtest on the real chat, chatcast (tfjs) beside the Python reference of
// the original model (sktime + scikit-learn), scores and speed from one run, with the targets checked.
// Run: npm run bench:backtest   (skips with a message when ../shared/data/seed-chat is absent)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTf } from '../dist/io/tf.js';
import { backtest, originsOf, parseHourlySeries } from '../dist/core/backtest.js';
import { BACKTEST_MODELS } from '../dist/commands/backtest.js';
import { forecastOrigins } from '../dist/core/models.js';
import { SEED_KNN } from '../dist/core/knn.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERIES = process.env.CHATCAST_SEED_CHAT ? join(process.env.CHATCAST_SEED_CHAT, 'hourly_counts.tsv') : join(ROOT, '..', 'shared', 'data', 'seed-chat', 'hourly_counts.tsv');
const DAYS = 300;
if (!existsSync(SERIES)) {
  console.log(`bench:backtest skipped: the real chat ${SERIES} is not on this machine`);
  process.exit(0);
}

// Python side: the reference's venv (pinned), then the original model and the baselines.
const pins = 'cat bench/requirements.txt bench/constraints.txt | cmp -s - .venv-bench/pins.txt || (python3 -m venv .venv-bench && .venv-bench/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt -c bench/constraints.txt && cat bench/requirements.txt bench/constraints.txt > .venv-bench/pins.txt)';
execFileSync('sh', ['-c', pins], { cwd: ROOT, stdio: 'inherit' });
const forecastsFile = join(mkdtempSync(join(tmpdir(), 'chatcast-bench-')), 'seed.json');
const python = spawnSync(join(ROOT, '.venv-bench', 'bin', 'python'), ['bench/reference.py', '--series', SERIES, '--days', String(DAYS), '--json', '--forecasts', forecastsFile], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
if (python.status !== 0) {
  console.error(python.stderr);
  process.exit(1);
}
const reference = JSON.parse(python.stdout);

// chatcast side, in this process. The first seed backtest is timed cold (wasm compiles kernels and
// grows its heap on first use); the table's timings are a second, warm run of every model.
const { backend } = await initTf();
const series = parseHourlySeries(readFileSync(SERIES, 'utf8'), SERIES);
const origins = originsOf(series, 'UTC', DAYS);
const coldStart = performance.now();
const seedForecasts = forecastOrigins(SEED_KNN, series.values, origins.map((o) => o.index), [], 24).median;
const cold = (performance.now() - coldStart) / 1000;
const ours = backtest(series, 'UTC', DAYS, Object.entries(BACKTEST_MODELS).map(([name, spec]) => ({ name, spec })));
const theirs = JSON.parse(readFileSync(forecastsFile, 'utf8'));
const same = origins.filter((o, i) => theirs[o.day].every((v, h) => Math.abs(v - seedForecasts[i][h]) < 1e-6)).length;

const f = (v, d = 3) => (v === undefined ? '' : v.toFixed(d));
console.log(`Backtest on ${SERIES}: ${DAYS} daily origins (${ours.origins[0]} … ${ours.origins.at(-1)}, UTC days), 24 h ahead`);
console.log(`chatcast: tfjs backend ${backend}, Node ${process.version}; reference: Python ${reference.python}, sktime ${reference.sktime}, scikit-learn ${reference.sklearn}`);
console.log('sMAPE, MAE, MASE of the median; RMSE of the mean; pinball and coverage of the 80% band\n');
console.log('model        sMAPE    MAE    RMSE   MASE  pinball cover80   seconds  | reference sMAPE    MAE   RMSE  seconds');
for (const [name, m] of Object.entries(ours.models)) {
  const r = reference.models[name];
  console.log(
    `${name.padEnd(11)} ${f(m.smape).padStart(6)} ${f(m.mae).padStart(6)} ${f(m.rmse).padStart(7)} ${f(m.mase).padStart(6)} ${f(m.pinball).padStart(8)} ${f(m.coverage80).padStart(7)} ${f(m.seconds, 3).padStart(9)}  | ${r ? `${f(r.smape).padStart(15)} ${f(r.mae).padStart(6)} ${f(r.rmse).padStart(6)} ${f(r.seconds, 2).padStart(8)}` : '     (chatcast only)'}`,
  );
}

const seed = ours.models.seed;
const d = ours.models.default;
const baselines = ['zeros', 'naive_day', 'naive_week', 'median_7d', 'mean_14d'];
const speedup = reference.models.seed.seconds / seed.seconds;
const checks = [
  [`seed sMAPE within ±0.03 of the reference (${f(seed.smape, 4)} vs ${f(reference.models.seed.smape, 4)}); ${same}/${DAYS} origins give identical forecasts`, Math.abs(seed.smape - reference.models.seed.smape) <= 0.03],
  [`default median sMAPE ${f(d.smape, 4)} below every baseline's (best ${f(Math.min(...baselines.map((b) => ours.models[b].smape)), 4)})`, baselines.every((b) => d.smape < ours.models[b].smape)],
  [`default median MAE ${f(d.mae, 4)} below every baseline's (best ${f(Math.min(...baselines.map((b) => ours.models[b].mae)), 4)})`, baselines.every((b) => d.mae < ours.models[b].mae)],
  [`default mean RMSE ${f(d.rmse, 4)} below every baseline's (best ${f(Math.min(...baselines.map((b) => ours.models[b].rmse)), 4)})`, baselines.every((b) => d.rmse < ours.models[b].rmse)],
  [`default 80% band coverage ${f(d.coverage80)} between 0.75 and 0.85`, d.coverage80 >= 0.75 && d.coverage80 <= 0.85],
  [`seed backtest ${f(seed.seconds, 3)} s warm (${f(cold, 3)} s cold) vs reference ${f(reference.models.seed.seconds, 2)} s: ${speedup.toFixed(1)}× faster warm, ${(reference.models.seed.seconds / cold).toFixed(1)}× cold (target ≥ 20×)`, speedup >= 20],
];
console.log('\nTargets');
for (const [text, ok] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;

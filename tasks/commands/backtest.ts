import { backtest, parseHourlySeries, type BacktestResult, type BacktestSpec } from '../core/backtest.js';
import { CANDIDATES } from '../core/choice.js';
import { parseZone } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { BASELINES } from '../core/models.js';
import { SEED_KNN } from '../core/knn.js';
import { defaultParams } from '../core/params.js';
import { readSeriesText } from '../io/artifacts.js';
import { progressBar } from '../io/progress.js';
import { initTf } from '../io/tf.js';
import { defineCommand, type Context } from './command.js';

// The models `backtest` knows: the original, what `train` does by default (the whole per-chat
// choice), the baselines, and each candidate of the choice on its own.
export const BACKTEST_MODELS: Record<string, BacktestSpec> = {
  seed: SEED_KNN,
  default: defaultParams().train,
  ...Object.fromEntries(BASELINES.map((b) => [b, { model: b }])),
  ...Object.fromEntries(CANDIDATES.map((c) => [c.name, c.spec])),
};

// What runs when --model is not given: the original, the default and the baselines.
const STANDARD = ['seed', 'default', ...BASELINES];

// Options of `chatcast backtest`.
export interface BacktestArgs {
  series: string;
  days: number;
  tz: string;
  model?: string[];
  json: boolean;
}

// A readable table of a backtest, best first by MAE.
export function formatTable(result: BacktestResult, backend: string): string {
  const rows = Object.entries(result.models);
  const head = ['model', 'sMAPE', 'MAE', 'RMSE', 'MASE', 'pinball', 'cover80', 'q10 <,≤', 'q50 <,≤', 'q90 <,≤', 'seconds'];
  const cal = (c: [number, number]) => `${c[0].toFixed(2)},${c[1].toFixed(2)}`;
  const cells = rows.map(([name, m]) => [
    name,
    m.smape.toFixed(3),
    m.mae.toFixed(3),
    m.rmse.toFixed(3),
    m.mase.toFixed(3),
    m.pinball.toFixed(3),
    m.coverage80.toFixed(3),
    cal(m.calibration['0.1']),
    cal(m.calibration['0.5']),
    cal(m.calibration['0.9']),
    m.seconds.toFixed(2),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  return [
    `${result.days} daily origins (${result.origins[0]} … ${result.origins.at(-1)}, ${result.timezone} days), each forecasting its day's hours; tfjs backend ${backend}`,
    'sMAPE of the point, MAE and MASE of the median, RMSE of the mean, pinball and coverage of the 10%–90% band;',
    'q<,≤: share of hours below and at or below each quantile (calibrated: below ≤ τ ≤ at or below)',
    line(head),
    ...cells.map(line),
  ].join('\n');
}

// Runs the backtest over a series file.
export async function runBacktest(args: BacktestArgs, ctx: Context) {
  const zone = parseZone(args.tz, '--tz');
  if (!Number.isInteger(args.days) || args.days < 1) throw new ChatcastError('USAGE', `Invalid --days "${args.days}": expected a whole number of days, at least 1`);
  const names = args.model?.length ? args.model : STANDARD;
  for (const name of names) {
    if (!(name in BACKTEST_MODELS)) throw new ChatcastError('USAGE', `Invalid --model "${name}": expected one of ${Object.keys(BACKTEST_MODELS).join(', ')}`);
  }
  const { backend } = await initTf();
  const series = parseHourlySeries(await readSeriesText(args.series), args.series);
  const bar = progressBar('backtest', names.length, ctx.interactive && !args.json);
  const result = backtest(series, zone, args.days, names.map((name) => ({ name, spec: BACKTEST_MODELS[name] })), (name) => bar.tick(name));
  bar.stop();
  ctx.log.debug({ step: 'backtest', backend, result }, 'backtest finished');
  process.stdout.write(args.json ? JSON.stringify({ ...result, backend }) + '\n' : formatTable(result, backend) + '\n');
  return result;
}

// `chatcast backtest`
export default defineCommand<BacktestArgs>({
  name: 'backtest',
  describe: "Score forecasters on an hourly series: rolling daily origins over the last N days, each forecasting its day",
  args: {
    series: { type: 'string', demandOption: true, describe: "a workspace's aggregate/hourly folder, a TSV of chatcast's series, or the original all_messages_cnt.csv (datetime, txt_cnt)" },
    days: { type: 'number', default: 300, describe: 'How many last days are origins' },
    tz: { type: 'string', default: 'UTC', describe: 'Time zone whose midnights are the origins' },
    model: { type: 'string', array: true, describe: `Models to score (default: ${STANDARD.join(', ')}); also any candidate of the per-chat choice: ${CANDIDATES.map((c) => c.name).join(', ')}` },
    json: { type: 'boolean', default: false, describe: 'Print one JSON object instead of a table' },
  },
  run: (args, ctx) => runBacktest(args, ctx),
});

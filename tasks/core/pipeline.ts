// The pipeline's steps in dvc.yaml's order; each verb names its CLI command, DVC stage, Airflow task
// and artifact folder. `track` runs after `push` (see README, "Experiment tracking").
export const STEPS = ['ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report', 'track'] as const;
export type Step = (typeof STEPS)[number];

// Every command of the CLI: the steps, the DVC bookends, and the helpers around them.
export const COMMANDS = ['init', 'login', 'pull', ...STEPS.filter((s) => s !== 'track'), 'push', 'track', 'run', 'demo', 'backtest'] as const;

// Artifacts shared between steps; paths are relative to the workspace.
export const PATHS = {
  ingest: 'ingest',
  series: 'aggregate/hourly', // one TSV per month of chat days: YYYY-MM.tsv
  history: 'evaluate/history.tsv',
  metrics: 'evaluate/metrics.json',
  model: 'train/model.json',
  forecasts: 'forecast',
  charts: 'render',
  outbox: 'report/outbox',
  ledger: 'report/ledger.json',
  track: 'track',
  trackLedger: 'track/ledger.json',
  trackHistory: 'track/history.tsv',
  trackMetrics: 'track/metrics.json',
  trackPage: 'track/index.html',
} as const;

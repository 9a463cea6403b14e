// The daily steps in the order the DAG runs them; each verb names its CLI command, DVC stage,
// Airflow task and artifact folder.
export const STEPS = ['ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report'] as const;
export type Step = (typeof STEPS)[number];

// Every command of the CLI: the steps, the DVC bookends, and the helpers around them.
export const COMMANDS = ['init', 'login', 'pull', ...STEPS, 'push', 'run', 'demo', 'backtest'] as const;

// Artifacts shared between steps; paths are relative to the workspace.
export const PATHS = {
  ingest: 'ingest',
  series: 'aggregate/hourly.tsv',
  history: 'evaluate/history.tsv',
  metrics: 'evaluate/metrics.json',
  model: 'train/model.json',
  modelValues: 'train/values.bin',
  forecasts: 'forecast',
  charts: 'render',
  outbox: 'report/outbox',
  ledger: 'report/ledger.json',
} as const;

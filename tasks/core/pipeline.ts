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

// The folders that gain a file (or folder) per chat day, kept in a subfolder per month so that each month
// is its own DVC output: a day then stores only its month's file list again, not one that grows with the
// history. Keyed by the stage that writes them; `files` are the stage's other outputs (when they exist).
export const MONTHLY = {
  ingest: { folder: PATHS.ingest, files: ['ingest/cursor.json'] },
  forecast: { folder: PATHS.forecasts, files: [] },
  render: { folder: PATHS.charts, files: [] },
  report: { folder: PATHS.outbox, files: [PATHS.ledger] },
} as const satisfies Record<string, { folder: string; files: readonly string[] }>;

// The name of a month's subfolder (YYYY-MM) and of an entry a day owns in it (YYYY-MM-DD, with its extension).
export const MONTH_DIR = /^\d{4}-\d{2}$/;
export const DAY_ENTRY = /^(\d{4}-\d{2})-\d{2}(\.[a-z]+)?$/;

// Where day D's entry of a monthly folder lives: FOLDER/YYYY-MM/D plus its extension ('' for a folder).
export function dayPath(folder: string, day: string, ext = ''): string {
  return `${folder}/${day.slice(0, 7)}/${day}${ext}`;
}

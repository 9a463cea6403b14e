// The daily steps in the order the DAG runs them; each verb names its CLI command, DVC stage,
// Airflow task and artifact folder.
export const STEPS = ['ingest', 'aggregate', 'evaluate', 'train', 'forecast', 'render', 'report'] as const;
export type Step = (typeof STEPS)[number];

// Every command of the CLI: the steps, the DVC bookends, and the helpers around them.
export const COMMANDS = ['init', 'pull', ...STEPS, 'push', 'run', 'demo'] as const;

// What each stage reads and writes, for dvc.yaml and for deciding what `push` can commit.
export interface StageSpec {
  deps: string[];
  params: string[];
  outs: { path: string; persist: boolean }[];
  metrics?: string[];
}

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
} as const;

// The truth about each stage, written into dvc.yaml by `init`.
export const STAGES: Record<Step, StageSpec> = {
  ingest: { deps: [], params: ['chat.timezone', 'ingest'], outs: [{ path: 'ingest', persist: true }] },
  aggregate: { deps: ['ingest'], params: ['chat.timezone'], outs: [{ path: 'aggregate', persist: true }] },
  evaluate: {
    deps: [PATHS.series, PATHS.forecasts],
    params: [],
    outs: [{ path: PATHS.history, persist: true }],
    metrics: [PATHS.metrics],
  },
  train: { deps: [PATHS.series], params: ['train'], outs: [{ path: 'train', persist: false }] },
  forecast: { deps: ['train'], params: ['chat.timezone'], outs: [{ path: PATHS.forecasts, persist: true }] },
  render: {
    deps: [PATHS.series, PATHS.forecasts],
    params: ['chat', 'render'],
    outs: [{ path: PATHS.charts, persist: true }],
  },
  report: {
    deps: [PATHS.charts, PATHS.metrics, PATHS.forecasts],
    params: ['chat'],
    outs: [{ path: 'report', persist: true }],
  },
};

// dvc.yaml as an object: verb stages whose command takes the day from $CHATCAST_DATE, named metrics and plots.
export function dvcYaml(): Record<string, unknown> {
  const stages: Record<string, unknown> = {};
  for (const step of STEPS) {
    const spec = STAGES[step];
    const stage: Record<string, unknown> = { cmd: `chatcast ${step} --date $CHATCAST_DATE` };
    if (spec.deps.length) stage.deps = spec.deps;
    if (spec.params.length) stage.params = spec.params;
    stage.outs = spec.outs.map((o) => (o.persist ? { [o.path]: { persist: true } } : o.path));
    if (spec.metrics) stage.metrics = spec.metrics.map((m) => ({ [m]: { cache: false } }));
    stages[step] = stage;
  }
  return {
    stages,
    plots: [
      { 'Forecast error by day': { template: 'linear', x: 'day', y: { [PATHS.history]: ['smape', 'mae', 'rmse'] } } },
      { 'Messages per hour': { template: 'linear', x: 'start', y: { [PATHS.series]: ['messages'] } } },
    ],
  };
}

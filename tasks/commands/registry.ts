import type { CommandDef } from './command.js';

// One command as `chatcast --help` lists it, with the module that defines it loaded only when the command
// runs (or its own --help is asked for): loading every command's libraries took longer than most steps.
export interface CommandEntry {
  name: string;
  describe: string;
  load: () => Promise<{ default: CommandDef<never> }>;
}

// Every command, in the order `--help` lists them (the pipeline's order). Each describe repeats the one in
// its module (test/commands/registry.test.ts keeps them equal).
export const REGISTRY: CommandEntry[] = [
  { name: 'init', describe: 'Make a folder a chatcast workspace: git + DVC project, dvc.yaml, params.yaml, a DVC remote', load: () => import('./init.js') },
  { name: 'login', describe: 'Log in to Telegram once (phone, code, 2FA password) and print the TELEGRAM_SESSION string', load: () => import('./login.js') },
  { name: 'pull', describe: "Restore the workspace's DVC-tracked state from the remote (the DAG's first task)", load: () => import('./pull.js') },
  { name: 'ingest', describe: "Fetch the day's messages into ingest/YYYY-MM/DAY.jsonl (mtproto and export fill every day up to it)", load: () => import('./ingest.js') },
  { name: 'aggregate', describe: "Count one day's messages per hour of the chat's clock into aggregate/hourly/ (a TSV per month)", load: () => import('./aggregate.js') },
  { name: 'evaluate', describe: 'Score the forecast made for the day against what happened (sMAPE, MAE, RMSE, MASE, pinball, coverage)', load: () => import('./evaluate.js') },
  { name: 'train', describe: 'Choose and fit the forecaster (params.yaml train) on the hourly series up to the end of the day', load: () => import('./train.js') },
  { name: 'forecast', describe: "Forecast the next day's hours with the trained model into forecast/YYYY-MM/NEXT_DAY.json", load: () => import('./forecast.js') },
  { name: 'render', describe: "Draw the day's actual-vs-forecast chart and the next day's forecast chart (PNG)", load: () => import('./render.js') },
  { name: 'report', describe: "Write the day's channel message to report/outbox/YYYY-MM/DAY/ and post it with the bot (once)", load: () => import('./report.js') },
  { name: 'push', describe: "Commit the artifacts with DVC, tag the git commit with the day, push to the remote (the DAG's last task)", load: () => import('./push.js') },
  { name: 'track', describe: 'Send the day (and any day a tracker missed) to the experiment trackers: local history, MLflow, ClearML', load: () => import('./track.js') },
  { name: 'run', describe: 'Run the whole daily pipeline for one day: pull, ingest … report, push, track', load: () => import('./run.js') },
  { name: 'demo', describe: 'Simulate a chat in a fresh workspace and run the daily pipeline for its last days', load: () => import('./demo.js') },
  { name: 'backtest', describe: 'Score forecasters on an hourly series: rolling daily origins over the last N days, each forecasting its day', load: () => import('./backtest.js') },
];

// The corpus of bad inputs and faults (issue 11, "Tests and figures"): one row per case, run by
// corpus.test.ts. Each case names the issue point it covers (0: one of our own), the prepared workspace it
// starts from, what it breaks there, the command line and environment, the exit code it must end with,
// text that quotes the bad value and text that states the rule. The runner also checks, for every case,
// that nothing was lost or half-written (sha256 of every workspace and remote file before and after, the
// git refs, no `.*.tmp` file), that there is no stack trace and that the error is a JSON log line too.
//
// In args, env, quotes and rule, {name} is replaced by the case's scene: {ws} its workspace, {root} the
// case's own folder (bad source files go there), {remote} the workspace's DVC remote, {fixtures}
// test/fixtures, {port} a closed TCP port on 127.0.0.1, {today} today's date in Europe/Berlin, and
// whatever a setup put in scene.vars ({session}, …).
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { sessions } from 'telegram';
import { AuthKey } from 'telegram/crypto/AuthKey.js';

// Exit codes of tasks/core/errors.ts.
export const USAGE = 2;
export const CONFIG = 3;
export const INPUT = 4;
export const WORKSPACE = 5;
export const STATE = 6;
export const EXTERNAL = 7;

// The day the `full` workspace last pushed (a whole `chatcast run`), after simulated history from HISTORY_FIRST.
export const HISTORY_FIRST = '2024-03-20';
export const DAY = '2024-03-30';
export const NEXT = '2024-03-31';

// What a case runs in: a private copy of a prepared workspace and its remote, in a folder of its own.
export interface Scene {
  root: string; // the case's folder: bad source files go here
  ws: string; // root/ws ('none': does not exist)
  remote: string; // root/ws-remote, the workspace's DVC remote
  fixtures: string;
  port: number; // nothing listens on 127.0.0.1:port
  today: string; // today in Europe/Berlin, the workspaces' zone
  vars: Record<string, string>;
}

export type Setup = (scene: Scene) => Promise<void>;

export interface FaultCase {
  name: string;
  point: number; // the point of issue 11 it covers; 0 for a case of our own
  // fresh: `chatcast init` only (simulate source); full: simulated history pushed, then a whole
  // `chatcast run --date DAY`; none: an empty folder (for init and missing workspaces).
  workspace: 'fresh' | 'full' | 'none';
  breaks: string; // what the setup breaks, in words
  setup?: Setup[];
  args: string[];
  env?: Record<string, string>;
  exit: number;
  quotes: string | RegExp; // stderr quotes the bad value (or names the missing one)
  rule: string | RegExp; // stderr states the rule it breaks
  secret?: string; // a value that must appear nowhere in the output (it is a credential)
  absent?: string[]; // paths that must not exist afterwards (what a refused init must not leave)
  // A failure that by design records something (a tracker that is down leaves its days pending): the
  // workspace files it may change, and that it may commit and push them (refs then only move forward and
  // the remote only gains files). Everything else must stay as it was.
  writes?: string[];
  pushes?: boolean;
  records?: { file: string; contains: string | RegExp }[]; // what the designed record must hold
}

// ---- setups: each changes the case's copy before the "before" snapshot -------------------------------

const inWs = (scene: Scene, rel: string) => join(scene.ws, rel);

// Sets a value in the workspace's params.yaml (keeps its comments).
export function param(path: (string | number)[], value: unknown): Setup {
  return async (scene) => {
    const file = inWs(scene, 'params.yaml');
    const doc = YAML.parseDocument(await readFile(file, 'utf8'));
    doc.setIn(path, value);
    await writeFile(file, doc.toString());
  };
}

// Edits params.yaml as text; the edit must change it.
export function paramsText(edit: (text: string) => string): Setup {
  return async (scene) => {
    const file = inWs(scene, 'params.yaml');
    const text = await readFile(file, 'utf8');
    const changed = edit(text);
    if (changed === text) throw new Error('the params.yaml edit changed nothing');
    await writeFile(file, changed);
  };
}

// Writes a workspace file: given bytes, or a change of its current bytes.
export function write(rel: string, data: string | Buffer | ((old: Buffer) => string | Buffer)): Setup {
  return async (scene) => {
    const file = inWs(scene, rel);
    const bytes = typeof data === 'function' ? data(await readFile(file)) : data;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
  };
}

// Changes a workspace JSON file.
export function editJson(rel: string, edit: (doc: Record<string, unknown>) => unknown): Setup {
  return write(rel, (old) => JSON.stringify(edit(JSON.parse(old.toString('utf8'))), null, 2) + '\n');
}

// Deletes a workspace file or folder (it must be there).
export function remove(rel: string): Setup {
  return async (scene) => {
    await readFile(inWs(scene, rel)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EISDIR') throw error;
    });
    await rm(inWs(scene, rel), { recursive: true });
  };
}

// Commits a workspace file as it now is (a corruption that `pull` cannot undo from git).
export function commit(rel: string): Setup {
  return async (scene) => {
    await execa('git', ['commit', '--quiet', '-m', `a broken ${rel}`, rel], { cwd: scene.ws });
  };
}

// A file in the case's folder, outside the workspace: a bad source.
export function outside(name: string, data: string | ((scene: Scene) => Promise<string>)): Setup {
  return async (scene) => {
    await writeFile(join(scene.root, name), typeof data === 'function' ? await data(scene) : data);
  };
}

// test/fixtures/telegram-export/result.json, changed, as root/NAME.
export function exportWith(name: string, edit: (doc: { messages: Record<string, unknown>[] } & Record<string, unknown>) => void): Setup {
  return outside(name, async (scene) => {
    const doc = JSON.parse(await readFile(join(scene.fixtures, 'telegram-export', 'result.json'), 'utf8'));
    edit(doc);
    return JSON.stringify(doc, null, 1);
  });
}

// Deletes the workspace's DVC remote folder (a disk that is not mounted, a folder someone removed).
export const removeRemote: Setup = async (scene) => {
  await rm(scene.remote, { recursive: true });
};

// A file in a folder of the case (init into a non-empty folder).
export function folderWith(rel: string, data: string): Setup {
  return async (scene) => {
    await mkdir(dirname(join(scene.root, rel)), { recursive: true });
    await writeFile(join(scene.root, rel), data);
  };
}

// The fresh workspace reading a chat over MTProto.
export const mtprotoSource: Setup[] = [param(['ingest', 'source'], 'mtproto'), param(['ingest', 'chat'], '@chatcast_test_chat')];

// A GramJS session string for data center 2 at host:port with a made-up auth key, in scene.vars[name].
export function session(name: string, host: string, port: number | 'closed', change: (s: string) => string = (s) => s): Setup {
  return async (scene) => {
    const s = new sessions.StringSession('');
    s.setDC(2, host, port === 'closed' ? scene.port : port);
    const key = new AuthKey();
    await key.setKey(Buffer.alloc(256, 7));
    s.setAuthKey(key);
    scene.vars[name] = change(s.save());
  };
}

// A lease of another day held by a live process (this test's own), as a run of that day in progress leaves it.
export function leaseOf(day: string): Setup {
  return async (scene) => {
    const { hostname } = await import('node:os');
    const lease = { day, since: new Date().toISOString(), holder: { host: hostname(), pid: process.pid } };
    await mkdir(inWs(scene, '.chatcast'), { recursive: true });
    const file = inWs(scene, '.chatcast/lease.json');
    await writeFile(file, JSON.stringify(lease) + '\n');
    // Its holder beats (touches the file) every few seconds; dated ahead, it stays fresh however slow the machine.
    const ahead = new Date(Date.now() + 10 * 60_000);
    await utimes(file, ahead, ahead);
  };
}

// ---- values used by several cases ---------------------------------------------------------------------

const TELEGRAM = { TELEGRAM_API_ID: '12345', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef' };
const BOT_TOKEN = '123456789:AAF-test-token-for-the-local-bot-api';
const EXPORT = '{fixtures}/telegram-export';
const TOP_KEYS = 'expected only chat, ingest, train, render, track';
const TRAIN_KEYS = 'expected only model, select_days, pool, k, window, transform, level, jitter, days, halflife, weekday';
const SOURCE_RULE = 'expected simulate, mtproto, export:FILE (Telegram Desktop result.json) or tsv:FILE';
const PARTITION_RULE = 'expected one message per line, a JSON object {"id", "at", "sender", "kind", "reply_to"[, "text"]}';
const NOT_ENDED = /that day has not ended yet in Europe\/Berlin \(it is \d{4}-\d{2}-\d{2} \d{2}:\d{2} there\)/;
const step = (name: string, day: string, ws = '{ws}') => [name, '--date', day, '--workspace', ws];

// ---- the corpus -----------------------------------------------------------------------------------------

export const CASES: FaultCase[] = [
  // Point 5: a mistyped or out-of-order --date never reaches the workspace.
  { name: 'mistyped year 1026-10-27 in --date of push', point: 5, workspace: 'full', breaks: '--date', args: step('push', '1026-10-27'), exit: USAGE, quotes: 'Invalid --date "1026-10-27"', rule: 'expected a day on or after 2000-01-01' },
  { name: 'a day before 2000-01-01', point: 5, workspace: 'full', breaks: '--date', args: step('run', '1999-12-31'), exit: USAGE, quotes: '"1999-12-31"', rule: 'expected a day on or after 2000-01-01' },
  { name: 'a date that does not exist (2024-02-30)', point: 5, workspace: 'full', breaks: '--date', args: step('ingest', '2024-02-30'), exit: USAGE, quotes: 'Invalid --date "2024-02-30"', rule: 'expected YYYY-MM-DD' },
  { name: 'month 13 in --date of pull', point: 5, workspace: 'full', breaks: '--date', args: ['pull', '--date', '2024-13-01', '--workspace', '{ws}'], exit: USAGE, quotes: 'Invalid --date "2024-13-01"', rule: 'expected YYYY-MM-DD' },
  { name: 'a two-digit year (24-03-01)', point: 5, workspace: 'full', breaks: '--date', args: step('aggregate', '24-03-01'), exit: USAGE, quotes: 'Invalid --date "24-03-01"', rule: 'expected YYYY-MM-DD' },
  { name: 'an unpadded date (2024-3-30)', point: 5, workspace: 'full', breaks: '--date', args: step('evaluate', '2024-3-30'), exit: USAGE, quotes: 'Invalid --date "2024-3-30"', rule: 'expected YYYY-MM-DD' },
  { name: 'a date with a time (2024-03-30T00:00)', point: 5, workspace: 'full', breaks: '--date', args: step('train', '2024-03-30T00:00'), exit: USAGE, quotes: 'Invalid --date "2024-03-30T00:00"', rule: 'expected YYYY-MM-DD' },
  { name: 'an empty --date', point: 5, workspace: 'full', breaks: '--date', args: step('forecast', ''), exit: USAGE, quotes: 'Invalid --date ""', rule: 'expected YYYY-MM-DD' },
  { name: 'no --date', point: 5, workspace: 'full', breaks: '--date', args: ['run', '--workspace', '{ws}'], exit: USAGE, quotes: 'Missing --date', rule: "expected YYYY-MM-DD, the day that ended in the chat's time zone" },
  { name: 'a day far in the future (2999-01-01)', point: 5, workspace: 'full', breaks: '--date', args: step('run', '2999-01-01'), exit: USAGE, quotes: 'Invalid --date "2999-01-01"', rule: NOT_ENDED },
  { name: 'today, which has not ended yet', point: 5, workspace: 'full', breaks: '--date', args: step('ingest', '{today}'), exit: USAGE, quotes: 'Invalid --date "{today}"', rule: NOT_ENDED },
  {
    name: 'a day 46 days after the last pushed one, without --catch-up',
    point: 5,
    workspace: 'full',
    breaks: '--date',
    args: step('ingest', '2024-05-15'),
    exit: USAGE,
    quotes: 'Invalid --date "2024-05-15"',
    rule: `the last day pushed from this workspace is ${DAY}, 46 days earlier; expected at most 31 days after it, or pass --catch-up to fill the 45 days between in this run`,
  },
  { name: 'a mistyped year after the last pushed day (2025-03-30), on push', point: 5, workspace: 'full', breaks: '--date', args: step('push', '2025-03-30'), exit: USAGE, quotes: 'Invalid --date "2025-03-30"', rule: /expected at most 31 days after it, or pass --catch-up/ },
  { name: 'a mistyped year after the last pushed day (2025-03-30), on run', point: 5, workspace: 'full', breaks: '--date', args: step('run', '2025-03-30'), exit: USAGE, quotes: 'Invalid --date "2025-03-30"', rule: /expected at most 31 days after it, or pass --catch-up/ },

  // Point 6: a corrupt or missing artifact is named with the rule it breaks (exit 6), never a stack trace.
  { name: 'deleted hourly series', point: 6, workspace: 'full', breaks: 'aggregate/hourly', setup: [remove('aggregate/hourly')], args: step('forecast', DAY), exit: STATE, quotes: 'Missing hourly series "{ws}/aggregate/hourly"', rule: `run "chatcast aggregate --date ${DAY}" first` },
  {
    name: 'an hour of the training series changed after train',
    point: 6,
    workspace: 'full',
    breaks: 'aggregate/hourly/2024-03.tsv',
    setup: [write('aggregate/hourly/2024-03.tsv', (old) => old.toString('utf8').replace(/\t(\d+)\n/, (_, n) => `\t${Number(n) + 1}\n`))],
    args: step('forecast', DAY),
    exit: STATE,
    quotes: /The hourly series through 2024-03-30 \(\d+ hours in aggregate\/hourly\) is not the one train\/model\.json was trained on/,
    rule: `rerun "chatcast train --date ${DAY}"`,
  },
  {
    name: "a day in another month's file of the hourly series",
    point: 6,
    workspace: 'full',
    breaks: 'aggregate/hourly/2024-03.tsv',
    setup: [write('aggregate/hourly/2024-03.tsv', (old) => old.toString('utf8') + '2024-03-31T22:00:00Z\t2024-04-01\t00:00\t+02:00\t3\n')],
    args: step('evaluate', DAY),
    exit: STATE,
    quotes: /Invalid \S*aggregate\/hourly\/2024-03\.tsv line \d+: day "2024-04-01"/,
    rule: "expected a day of 2024-03, the file's month",
  },
  { name: 'model card breaking its schema', point: 6, workspace: 'full', breaks: 'train/model.json', setup: [write('train/model.json', JSON.stringify({ trained_through: DAY, hours: -1 }))], args: step('forecast', DAY), exit: STATE, quotes: 'Invalid train/model.json', rule: `rerun "chatcast train --date ${DAY}"` },
  { name: 'model card cut short (not JSON)', point: 6, workspace: 'full', breaks: 'train/model.json', setup: [write('train/model.json', (old) => old.subarray(0, 40))], args: step('forecast', DAY), exit: STATE, quotes: 'Invalid train/model.json: not JSON', rule: `rerun "chatcast train --date ${DAY}"` },
  {
    name: 'model card of another day',
    point: 6,
    workspace: 'full',
    breaks: 'train/model.json',
    setup: [editJson('train/model.json', (card) => ({ ...card, trained_through: '2024-03-29' }))],
    args: step('forecast', DAY),
    exit: STATE,
    quotes: `train/model.json was trained through 2024-03-29, not ${DAY}`,
    rule: `rerun "chatcast train --date ${DAY}"`,
  },
  {
    name: 'forecast JSON cut short',
    point: 6,
    workspace: 'full',
    breaks: `forecast/2024-03/${NEXT}.json`,
    setup: [write(`forecast/2024-03/${NEXT}.json`, (old) => old.subarray(0, 200))],
    args: step('report', DAY),
    exit: STATE,
    quotes: `Invalid forecast/2024-03/${NEXT}.json: not JSON`,
    rule: `rerun "chatcast forecast" for the day before ${NEXT}`,
  },
  {
    name: 'forecast JSON whose hours are not a list',
    point: 6,
    workspace: 'full',
    breaks: `forecast/2024-03/${NEXT}.json`,
    setup: [editJson(`forecast/2024-03/${NEXT}.json`, (doc) => ({ ...doc, hours: 'many' }))],
    args: step('render', DAY),
    exit: STATE,
    quotes: `Invalid forecast/2024-03/${NEXT}.json: hours`,
    rule: `rerun "chatcast forecast" for the day before ${NEXT}`,
  },
  { name: "a corrupt forecast of the day being scored", point: 6, workspace: 'full', breaks: `forecast/2024-03/${DAY}.json`, setup: [write(`forecast/2024-03/${DAY}.json`, '[]\n')], args: step('evaluate', DAY), exit: STATE, quotes: `Invalid forecast/2024-03/${DAY}.json`, rule: `rerun "chatcast forecast" for the day before ${DAY}` },
  { name: 'deleted forecast of the next day', point: 6, workspace: 'full', breaks: `forecast/2024-03/${NEXT}.json`, setup: [remove(`forecast/2024-03/${NEXT}.json`)], args: step('render', DAY), exit: STATE, quotes: `Missing forecast for ${NEXT}`, rule: `run "chatcast forecast --date ${DAY}" first` },
  { name: 'metrics.json breaking its schema', point: 6, workspace: 'full', breaks: 'evaluate/metrics.json', setup: [write('evaluate/metrics.json', JSON.stringify({ day: DAY, status: 'great' }))], args: step('report', DAY), exit: STATE, quotes: /Invalid evaluate\/metrics\.json: status: /, rule: `rerun "chatcast evaluate --date ${DAY}"` },
  { name: 'empty metrics.json', point: 6, workspace: 'full', breaks: 'evaluate/metrics.json', setup: [write('evaluate/metrics.json', '')], args: step('report', DAY), exit: STATE, quotes: 'Invalid evaluate/metrics.json: not JSON', rule: `rerun "chatcast evaluate --date ${DAY}"` },
  { name: 'metrics.json of another day', point: 6, workspace: 'full', breaks: 'evaluate/metrics.json', setup: [editJson('evaluate/metrics.json', (m) => ({ ...m, day: '2024-03-29' }))], args: step('report', DAY), exit: STATE, quotes: `evaluate/metrics.json holds 2024-03-29, not ${DAY}`, rule: `run "chatcast evaluate --date ${DAY}" first` },
  {
    name: 'corrupt ingest cursor',
    point: 6,
    workspace: 'full',
    breaks: 'ingest/cursor.json',
    setup: [write('ingest/cursor.json', JSON.stringify({ chat_id: 1234567890, chat_title: 'Учебный чат', last_id: 1013, last_day: '30.03.2024' }))],
    args: [...step('ingest', DAY), '--source', `export:${EXPORT}/result.json`],
    exit: STATE,
    quotes: /Invalid ingest\/cursor\.json: chat_id: .*; last_day: /,
    rule: 'expected a day as YYYY-MM-DD: restore it with "chatcast pull", or delete it',
  },
  {
    name: 'report ledger without message ids',
    point: 6,
    workspace: 'full',
    breaks: 'report/ledger.json',
    setup: [write('report/ledger.json', JSON.stringify({ days: { [DAY]: { chat: '@chatcast_channel', sent_at: '2024-03-31T06:00:00Z' } } }))],
    args: ['pull', '--workspace', '{ws}'],
    exit: STATE,
    quotes: `Invalid report/ledger.json: days.${DAY}.message_ids`,
    rule: 'fix it by hand, keeping every day that was posted',
  },
  { name: 'track ledger with a null day', point: 6, workspace: 'full', breaks: 'track/ledger.json', setup: [write('track/ledger.json', `{"trackers": {"local": {"days": {"${DAY}": null}, "pending": {}}}}\n`)], args: ['pull', '--workspace', '{ws}'], exit: STATE, quotes: `Invalid track/ledger.json: trackers.local.days.${DAY}`, rule: 'fix or delete it' },
  {
    name: 'committed dvc.lock that is not YAML',
    point: 6,
    workspace: 'full',
    breaks: 'dvc.lock (committed)',
    setup: [write('dvc.lock', (old) => old.toString('utf8').replace(/^stages:\n/m, 'stages:\n  broken: {outs: [\n')), commit('dvc.lock')],
    args: ['pull', '--workspace', '{ws}'],
    exit: STATE,
    quotes: 'Invalid dvc.lock: not YAML',
    rule: "it is DVC's record of the pushed data: bring back a good version from git",
  },
  {
    name: 'a `null` line in a partition',
    point: 6,
    workspace: 'full',
    breaks: `ingest/2024-03/${DAY}.jsonl`,
    setup: [write(`ingest/2024-03/${DAY}.jsonl`, (old) => { const lines = old.toString('utf8').split('\n'); lines.splice(2, 0, 'null'); return lines.join('\n'); })],
    args: step('aggregate', DAY),
    exit: STATE,
    quotes: `ingest/2024-03/${DAY}.jsonl line 3: (root)`,
    rule: PARTITION_RULE,
  },
  {
    name: 'a partition whose last line was cut short',
    point: 6,
    workspace: 'full',
    breaks: `ingest/2024-03/${DAY}.jsonl`,
    setup: [write(`ingest/2024-03/${DAY}.jsonl`, (old) => old.subarray(0, old.length - 20))],
    args: step('aggregate', DAY),
    exit: STATE,
    quotes: /ingest\/2024-03\/2024-03-30\.jsonl line \d+: not JSON/,
    rule: PARTITION_RULE,
  },
  { name: 'deleted partition of the day', point: 6, workspace: 'full', breaks: `ingest/2024-03/${DAY}.jsonl`, setup: [remove(`ingest/2024-03/${DAY}.jsonl`)], args: step('aggregate', DAY), exit: STATE, quotes: `Missing ingest partition "{ws}/ingest/2024-03/${DAY}.jsonl"`, rule: `run "chatcast ingest --date ${DAY}" first` },
  {
    name: 'hourly series with a wrong header',
    point: 6,
    workspace: 'full',
    breaks: 'aggregate/hourly/2024-03.tsv',
    setup: [write('aggregate/hourly/2024-03.tsv', (old) => old.toString('utf8').replace(/^start\t/, 'begin\t'))],
    args: step('evaluate', DAY),
    exit: STATE,
    quotes: /Invalid \S*aggregate\/hourly\/2024-03\.tsv: header "begin\tday\tlocal/,
    rule: 'expected "start\\tday\\tlocal\\toffset\\tmessages"',
  },
  {
    name: 'hourly series with a count that is not a number',
    point: 6,
    workspace: 'full',
    breaks: 'aggregate/hourly/2024-03.tsv',
    setup: [write('aggregate/hourly/2024-03.tsv', (old) => old.toString('utf8').replace(/\t\d+\n$/, '\tmany\n'))],
    args: step('train', DAY),
    exit: STATE,
    quotes: /aggregate\/hourly\/2024-03\.tsv.*"many"/,
    rule: /expected a whole number|expected a count/,
  },
  {
    name: 'hourly series with a day missing in the middle',
    point: 6,
    workspace: 'full',
    breaks: 'aggregate/hourly/2024-03.tsv',
    setup: [write('aggregate/hourly/2024-03.tsv', (old) => old.toString('utf8').split('\n').filter((line) => !line.includes('\t2024-03-25\t')).join('\n'))],
    args: step('train', DAY),
    exit: STATE,
    quotes: /The hourly series has a gap between 2024-03-24T22:00:00Z and 2024-03-2\dT23:00:00Z/,
    rule: 'ingest and aggregate the missing days (2024-03-24 … 2024-03-26) first',
  },
  {
    name: 'metrics history with a wrong header',
    point: 6,
    workspace: 'full',
    breaks: 'evaluate/history.tsv',
    setup: [write('evaluate/history.tsv', (old) => old.toString('utf8').replace(/^day\t/, 'date\t'))],
    args: step('track', DAY),
    exit: STATE,
    quotes: /Invalid \S*evaluate\/history\.tsv: header "date\tstatus/,
    rule: /expected "day\\t/,
  },
  { name: 'deleted chart of the day', point: 6, workspace: 'full', breaks: `render/2024-03/${DAY}/forecast.png`, setup: [remove(`render/2024-03/${DAY}/forecast.png`)], args: step('report', DAY), exit: STATE, quotes: `Missing chart "{ws}/render/2024-03/${DAY}/forecast.png"`, rule: `run "chatcast render --date ${DAY}" first` },
  { name: 'no hours aggregated for the day', point: 6, workspace: 'full', breaks: '(nothing: the day was never aggregated)', args: step('train', NEXT), exit: STATE, quotes: `The hourly series has no hours for ${NEXT}`, rule: `run "chatcast aggregate --date ${NEXT}" first` },
  { name: 'no evaluation of the day to track', point: 6, workspace: 'full', breaks: '(nothing: the day was never evaluated)', args: step('track', NEXT), exit: STATE, quotes: `evaluate/history.tsv has no row for ${NEXT}`, rule: `run "chatcast evaluate --date ${NEXT}" first` },

  // Point 4: DVC and git failures quote the tool's own error line.
  { name: 'DVC not installed', point: 4, workspace: 'full', breaks: '$CHATCAST_DVC', args: step('push', DAY), env: { CHATCAST_DVC: '{root}/no-such-dvc' }, exit: EXTERNAL, quotes: 'DVC is not installed ("{root}/no-such-dvc" not found)', rule: 'run "npm run venv" in the chatcast checkout, put dvc on PATH, or set CHATCAST_DVC' },

  // Point 12: an S3 remote that cannot be reached names the endpoint and never shows the keys.
  {
    name: 'S3 remote unreachable during push',
    point: 12,
    workspace: 'full',
    breaks: 'the remote (an S3 endpoint on a closed port)',
    setup: [async (s) => writeFile(join(s.ws, '.dvc', 'config.local'), `[remote "storage"]\n    url = s3://chatcast-bucket/chat\n    endpointurl = http://127.0.0.1:${s.port}\n`)],
    args: step('push', DAY),
    env: { AWS_ACCESS_KEY_ID: 'AKIAFAULTCORPUS', AWS_SECRET_ACCESS_KEY: 'aws-secret-xyzzy' },
    exit: EXTERNAL,
    quotes: '"http://127.0.0.1:{port}/chatcast-bucket/chat/',
    rule: 'Could not connect to the endpoint URL',
    secret: 'aws-secret-xyzzy',
  },

  // Point 13: the smaller ones.
  {
    name: 'the DVC remote folder vanished before push',
    point: 13,
    workspace: 'full',
    breaks: 'the remote folder',
    setup: [removeRemote],
    args: step('push', DAY),
    exit: EXTERNAL,
    quotes: 'The DVC remote folder "{remote}"',
    rule: /does not exist.*mount the disk or restore the folder and retry/,
  },
  { name: 'misspelt top-level key in params.yaml', point: 13, workspace: 'fresh', breaks: 'params.yaml', setup: [paramsText((t) => t.replace(/^train:/m, 'trian:'))], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml trian', rule: TOP_KEYS },
  { name: 'misspelt render.widht', point: 13, workspace: 'fresh', breaks: 'params.yaml', setup: [paramsText((t) => t.replace('width: 1200', 'widht: 1200'))], args: step('render', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml render.widht', rule: 'expected only width, height, language' },
  { name: 'misspelt train.selct_days', point: 13, workspace: 'fresh', breaks: 'params.yaml', setup: [paramsText((t) => t.replace('select_days: 56', 'selct_days: 56'))], args: step('train', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml train.selct_days', rule: TRAIN_KEYS },
  { name: 'misspelt ingest.simulate.sed', point: 13, workspace: 'fresh', breaks: 'params.yaml', setup: [paramsText((t) => t.replace('seed: 42', 'sed: 42'))], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml ingest.simulate.sed', rule: 'expected only seed, base, quietWeekShare, burstShare, burstSize, senders' },
  {
    name: 'an export repeating an id for two different messages',
    point: 13,
    workspace: 'fresh',
    breaks: 'an export',
    setup: [exportWith('dup.json', (doc) => { doc.messages[2].id = doc.messages[1].id; })],
    args: [...step('ingest', NEXT), '--source', 'export:{root}/dup.json'],
    exit: INPUT,
    quotes: /Invalid \{root\}\/dup\.json: messages\[1\] and messages\[2\] both have id 1002 but were sent at 2024-03-29T09:01:10Z and at 2024-03-29T09:05:00Z/,
    rule: 'expected one message per id',
  },
  {
    name: 'an export dated before Telegram existed',
    point: 13,
    workspace: 'fresh',
    breaks: 'an export',
    setup: [exportWith('old.json', (doc) => { doc.messages[3].date_unixtime = '0'; })],
    args: [...step('ingest', NEXT), '--source', 'export:{root}/old.json'],
    exit: INPUT,
    quotes: 'Invalid date 1970-01-01T00:00:00Z (date_unixtime "0") of message 1004',
    rule: 'expected a time between 2013-08-14 and now',
  },
  {
    name: 'an export dated in the future',
    point: 13,
    workspace: 'fresh',
    breaks: 'an export',
    setup: [exportWith('future.json', (doc) => { doc.messages[3].date_unixtime = '4070908800'; })],
    args: [...step('ingest', NEXT), '--source', 'export:{root}/future.json'],
    exit: INPUT,
    quotes: '(date_unixtime "4070908800") of message 1004',
    rule: 'expected a time between 2013-08-14 and now',
  },

  {
    name: 'a post begun but never recorded (the process died while posting)',
    point: 13,
    workspace: 'full',
    breaks: 'report/ledger.json',
    setup: [write('report/ledger.json', JSON.stringify({ days: {}, pending: { [DAY]: { chat: '@chatcast_channel', since: '2024-03-31T06:00:00.000Z' } } }, null, 2) + '\n')],
    args: step('report', DAY),
    // Nothing listens at {port}: a post that went out anyway would fail the case with exit 7.
    env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_REPORT_CHAT: '@chatcast_channel', TELEGRAM_API_ROOT: 'http://127.0.0.1:{port}' },
    exit: STATE,
    quotes: `The report for ${DAY} may already be in @chatcast_channel: report/ledger.json records a post begun at 2024-03-31T06:00:00.000Z`,
    rule: `look at @chatcast_channel, and if the report for ${DAY} is not there, rerun "chatcast report --date ${DAY} --force"`,
    secret: BOT_TOKEN,
  },

  // Point 7: MTProto.
  {
    name: 'malformed TELEGRAM_SESSION',
    point: 7,
    workspace: 'fresh',
    breaks: '$TELEGRAM_SESSION',
    setup: mtprotoSource,
    args: step('ingest', NEXT),
    env: { ...TELEGRAM, TELEGRAM_SESSION: 'xyzzy-not-a-session-secret' },
    exit: CONFIG,
    quotes: 'Invalid TELEGRAM_SESSION',
    rule: 'expected a session string made by "chatcast login" (it does not start with 1',
    secret: 'xyzzy-not-a-session-secret',
  },
  {
    name: 'TELEGRAM_SESSION cut short',
    point: 7,
    workspace: 'fresh',
    breaks: '$TELEGRAM_SESSION',
    setup: [...mtprotoSource, session('session', '127.0.0.1', 443, (s) => s.slice(0, 200))],
    args: step('ingest', NEXT),
    env: { ...TELEGRAM, TELEGRAM_SESSION: '{session}' },
    exit: CONFIG,
    quotes: 'Invalid TELEGRAM_SESSION',
    rule: /too few for a data center, its address, a port and a 256-byte auth key: was it cut short\?/,
    secret: '{session}',
  },
  {
    name: 'Telegram unreachable',
    point: 7,
    workspace: 'fresh',
    breaks: 'the network (a closed port)',
    setup: [...mtprotoSource, session('session', '127.0.0.1', 'closed')],
    args: step('ingest', NEXT),
    env: { ...TELEGRAM, TELEGRAM_SESSION: '{session}' },
    exit: EXTERNAL,
    quotes: 'Telegram is unreachable (no connection to DC 2 at 127.0.0.1:{port} after 3 attempts: ECONNREFUSED)',
    rule: 'retry later',
    secret: '{session}',
  },
  { name: 'TELEGRAM_SESSION not set', point: 7, workspace: 'fresh', breaks: '$TELEGRAM_SESSION', setup: mtprotoSource, args: step('ingest', NEXT), env: TELEGRAM, exit: CONFIG, quotes: 'TELEGRAM_SESSION is not set', rule: 'run "chatcast login" once on a terminal and store the session string it prints' },
  { name: 'TELEGRAM_API_ID not a number', point: 7, workspace: 'fresh', breaks: '$TELEGRAM_API_ID', setup: mtprotoSource, args: step('ingest', NEXT), env: { ...TELEGRAM, TELEGRAM_API_ID: 'api-id-12345' }, exit: CONFIG, quotes: 'Invalid TELEGRAM_API_ID "api-id-12345"', rule: 'expected the numeric api_id from https://my.telegram.org' },
  {
    name: 'TELEGRAM_API_HASH malformed',
    point: 7,
    workspace: 'fresh',
    breaks: '$TELEGRAM_API_HASH',
    setup: mtprotoSource,
    args: step('ingest', NEXT),
    env: { ...TELEGRAM, TELEGRAM_API_HASH: 'secret-hash-xyzzy' },
    exit: CONFIG,
    quotes: 'Invalid TELEGRAM_API_HASH',
    rule: 'expected the 32 hex digits of api_hash from https://my.telegram.org',
    secret: 'secret-hash-xyzzy',
  },
  {
    name: 'CHATCAST_TELEGRAM_TIMEOUT_SECONDS of 0',
    point: 7,
    workspace: 'fresh',
    breaks: '$CHATCAST_TELEGRAM_TIMEOUT_SECONDS',
    setup: [...mtprotoSource, session('session', '127.0.0.1', 'closed')],
    args: step('ingest', NEXT),
    env: { ...TELEGRAM, TELEGRAM_SESSION: '{session}', CHATCAST_TELEGRAM_TIMEOUT_SECONDS: '0' },
    exit: CONFIG,
    quotes: 'Invalid CHATCAST_TELEGRAM_TIMEOUT_SECONDS "0"',
    rule: 'expected whole seconds from 1 to 600',
  },
  {
    name: 'params.yaml ingest.chat that is no chat',
    point: 7,
    workspace: 'fresh',
    breaks: 'params.yaml',
    setup: [param(['ingest', 'source'], 'mtproto'), param(['ingest', 'chat'], 'our chat')],
    args: step('ingest', NEXT),
    env: TELEGRAM,
    exit: CONFIG,
    quotes: 'Invalid params.yaml ingest.chat "our chat"',
    rule: 'expected @username, a numeric chat id such as -1001234567890, or an invite link https://t.me/+HASH',
  },

  // Point 9: the lease.
  {
    name: 'a live run of another day holds the lease',
    point: 9,
    workspace: 'full',
    breaks: '.chatcast/lease.json',
    setup: [leaseOf(NEXT)],
    args: step('ingest', DAY),
    exit: EXTERNAL,
    quotes: `Workspace is busy with day ${NEXT}`,
    rule: `so ${DAY} waits: retry when that run has pushed, or delete .chatcast/lease.json if no run is active`,
  },

  // Our own: params.yaml values of the wrong type or out of range.
  { name: 'render.width that is not a number', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['render', 'width'], 'wide')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml render.width "wide"', rule: 'expected an integer from 200 to 4000' },
  { name: 'render.language de', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['render', 'language'], 'de')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml render.language "de"', rule: 'expected one of ru, en' },
  { name: 'ingest.store_text "yes"', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['ingest', 'store_text'], 'yes')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml ingest.store_text "yes"', rule: 'expected true or false' },
  { name: 'train.model arima', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['train', 'model'], 'arima')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml train.model "arima"', rule: 'expected one of auto, knn_direct, knn_recursive, profile' },
  { name: 'train.k of 0 for knn_direct', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['train'], { model: 'knn_direct', k: 0 })], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml train.k "0"', rule: 'expected an integer from 1 to 1000' },
  { name: 'train.band, a removed key', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['train', 'band'], [0.1, 0.9])], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml train.band', rule: "the band is always the forecast distribution's 10% and 90% quantiles now; remove train.band" },
  { name: 'unknown time zone in params.yaml', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['chat', 'timezone'], 'Mars/Olympus')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml chat.timezone "Mars/Olympus"', rule: 'expected an IANA time zone such as Europe/Berlin or UTC' },
  { name: 'params.yaml that is not YAML', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [paramsText((t) => t.replace('render:', 'render: [\n'))], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml in "{ws}"', rule: /line \d+, column \d+/ },
  { name: 'a params.yaml section that is a list', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['render'], [1200, 600])], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml render', rule: 'expected a mapping' },
  { name: 'unknown ingest.source in params.yaml', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['ingest', 'source'], 'csv:messages.csv')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml ingest.source "csv:messages.csv"', rule: SOURCE_RULE },
  { name: 'ingest.since that is no day', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['ingest', 'since'], 'yesterday')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml ingest.since "yesterday"', rule: 'expected YYYY-MM-DD' },
  { name: 'track.trackers naming an unknown tracker', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['track', 'trackers'], ['local', 'wandb'])], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml track.trackers "local,wandb"', rule: 'expected a list of local, mlflow, clearml' },
  { name: 'chat.id with capitals and a space', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['chat', 'id'], 'My Chat')], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml chat.id "My Chat"', rule: 'expected lower-case letters, digits, _ and - (up to 64)' },
  { name: 'ingest.page_size above Telegram\'s limit', point: 0, workspace: 'fresh', breaks: 'params.yaml', setup: [param(['ingest', 'page_size'], 500)], args: step('ingest', '2024-03-01'), exit: CONFIG, quotes: 'Invalid params.yaml ingest.page_size "500"', rule: 'expected an integer from 1 to 100' },

  // Our own: the environment of a deployment.
  { name: '$CHATCAST_TIMEZONE differs from params.yaml', point: 0, workspace: 'full', breaks: '$CHATCAST_TIMEZONE', args: step('ingest', DAY), env: { CHATCAST_TIMEZONE: 'Asia/Tokyo' }, exit: CONFIG, quotes: 'Invalid params.yaml chat.timezone "Europe/Berlin": expected "Asia/Tokyo"', rule: 'the time zone the scheduler uses for this chat ($CHATCAST_TIMEZONE)' },
  { name: 'TELEGRAM_BOT_TOKEN set, TELEGRAM_REPORT_CHAT missing', point: 0, workspace: 'full', breaks: '$TELEGRAM_REPORT_CHAT', args: step('report', DAY), env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN }, exit: CONFIG, quotes: 'TELEGRAM_REPORT_CHAT is not set', rule: 'name the channel to post to (@username or -100… id)', secret: BOT_TOKEN },
  { name: 'TELEGRAM_REPORT_CHAT that is no channel', point: 0, workspace: 'full', breaks: '$TELEGRAM_REPORT_CHAT', args: step('report', DAY), env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_REPORT_CHAT: 'our channel' }, exit: CONFIG, quotes: 'Invalid TELEGRAM_REPORT_CHAT "our channel"', rule: 'expected the channel as @username or a numeric id such as -1001234567890', secret: BOT_TOKEN },
  { name: 'malformed TELEGRAM_BOT_TOKEN', point: 0, workspace: 'full', breaks: '$TELEGRAM_BOT_TOKEN', args: step('report', DAY), env: { TELEGRAM_BOT_TOKEN: 'bot-token-xyzzy-secret', TELEGRAM_REPORT_CHAT: '@chatcast_channel' }, exit: CONFIG, quotes: 'Invalid TELEGRAM_BOT_TOKEN', rule: 'expected the token @BotFather gave', secret: 'bot-token-xyzzy-secret' },
  { name: 'unknown tracker in $CHATCAST_TRACKERS', point: 0, workspace: 'full', breaks: '$CHATCAST_TRACKERS', args: step('track', DAY), env: { CHATCAST_TRACKERS: 'local,wandb' }, exit: CONFIG, quotes: 'Invalid $CHATCAST_TRACKERS "local,wandb"', rule: 'expected a comma-separated list of local, mlflow, clearml' },
  { name: 'mlflow chosen, MLFLOW_TRACKING_URI not set', point: 0, workspace: 'full', breaks: '$MLFLOW_TRACKING_URI', args: step('track', DAY), env: { CHATCAST_TRACKERS: 'mlflow' }, exit: CONFIG, quotes: 'MLFLOW_TRACKING_URI is not set', rule: "expected the MLflow server's http(s) URL" },
  { name: 'MLFLOW_TRACKING_URI without a scheme', point: 0, workspace: 'full', breaks: '$MLFLOW_TRACKING_URI', args: step('track', DAY), env: { CHATCAST_TRACKERS: 'mlflow', MLFLOW_TRACKING_URI: 'mlflow:5000' }, exit: CONFIG, quotes: 'Invalid MLFLOW_TRACKING_URI "mlflow:5000"', rule: 'expected an http(s) URL such as http://mlflow:5000' },
  {
    name: 'MLFLOW_TRACKING_URI with a password in it',
    point: 0,
    workspace: 'full',
    breaks: '$MLFLOW_TRACKING_URI',
    args: step('track', DAY),
    env: { CHATCAST_TRACKERS: 'mlflow', MLFLOW_TRACKING_URI: 'http://alice:pw-xyzzy-secret@127.0.0.1:{port}' },
    exit: CONFIG,
    quotes: 'Invalid MLFLOW_TRACKING_URI',
    rule: 'expected a URL without user:password (not shown here)',
    secret: 'pw-xyzzy-secret',
  },
  {
    name: 'MLflow unreachable',
    point: 0,
    workspace: 'full',
    breaks: 'the MLflow server (a closed port)',
    args: step('track', DAY),
    env: { CHATCAST_TRACKERS: 'mlflow', MLFLOW_TRACKING_URI: 'http://127.0.0.1:{port}' },
    exit: EXTERNAL,
    quotes: 'http://127.0.0.1:{port}',
    rule: `these days stay pending in track/ledger.json and the next "chatcast track" sends them`,
    // By design the day waits in the ledger for the next track, which is committed and pushed.
    writes: ['track/ledger.json', 'track/index.html', 'dvc.lock'],
    pushes: true,
    records: [{ file: 'track/ledger.json', contains: /"mlflow": \{\s*"days": \{\},\s*"pending": \{\s*"2024-03-30": \{\s*"since": "[^"]+",\s*"error": "MLflow at http:\/\/127\.0\.0\.1:\{port\} is unreachable/ }],
  },
  { name: 'Chromium missing', point: 0, workspace: 'full', breaks: '$CHATCAST_CHROMIUM', args: step('render', DAY), env: { CHATCAST_CHROMIUM: '{root}/no-such-chromium' }, exit: EXTERNAL, quotes: 'Chromium "{root}/no-such-chromium" did not start', rule: /ENOENT|no such file|not found|Failed to launch/ },
  { name: '$CHATCAST_WORKSPACE that does not exist', point: 0, workspace: 'none', breaks: '$CHATCAST_WORKSPACE', args: ['ingest', '--date', '2024-03-01'], env: { CHATCAST_WORKSPACE: '{root}/missing' }, exit: WORKSPACE, quotes: 'Workspace "{root}/missing" does not exist', rule: 'create it with "chatcast init --workspace {root}/missing"', absent: ['{root}/missing'] },

  // Our own: message sources.
  { name: 'TSV with an impossible date', point: 0, workspace: 'fresh', breaks: 'a TSV source', args: [...step('ingest', NEXT), '--source', 'tsv:{fixtures}/messages-bad-date.tsv'], exit: INPUT, quotes: 'messages-bad-date.tsv line 5: datetime "2024-02-30 10:00:00+00:00"', rule: 'expected YYYY-MM-DD HH:MM:SS+00:00' },
  { name: 'TSV with a quote never closed', point: 0, workspace: 'fresh', breaks: 'a TSV source', args: [...step('ingest', NEXT), '--source', 'tsv:{fixtures}/messages-bad-quote.tsv'], exit: INPUT, quotes: 'messages-bad-quote.tsv line 4: Quote Not Closed', rule: 'expected tab-separated datetime, user_id, text with "…" around texts that hold tabs, quotes or line breaks' },
  { name: 'TSV with a wrong header', point: 0, workspace: 'fresh', breaks: 'a TSV source', setup: [outside('header.tsv', 'when\tuser_id\ttext\n2024-03-30 22:15:00+00:00\t1\thi\n')], args: [...step('ingest', NEXT), '--source', 'tsv:{root}/header.tsv'], exit: INPUT, quotes: 'header.tsv line 1: header "when\\tuser_id\\ttext"', rule: 'expected "datetime\\tuser_id\\ttext"' },
  { name: 'TSV with a user id that is no number', point: 0, workspace: 'fresh', breaks: 'a TSV source', setup: [outside('user.tsv', 'datetime\tuser_id\ttext\n2024-03-30 22:15:00+00:00\tanna\thi\n')], args: [...step('ingest', NEXT), '--source', 'tsv:{root}/user.tsv'], exit: INPUT, quotes: 'user.tsv line 2: user_id "anna"', rule: 'expected an integer' },
  { name: 'TSV source that does not exist', point: 0, workspace: 'fresh', breaks: 'a TSV source', args: [...step('ingest', NEXT), '--source', 'tsv:{root}/no-such.tsv'], exit: INPUT, quotes: 'Missing TSV source "{root}/no-such.tsv"', rule: /expected|tab-separated/ },
  { name: 'unknown --source', point: 0, workspace: 'fresh', breaks: '--source', args: [...step('ingest', NEXT), '--source', 'csv:x'], exit: USAGE, quotes: 'Invalid --source "csv:x"', rule: SOURCE_RULE },
  { name: '--source tsv: without a file', point: 0, workspace: 'fresh', breaks: '--source', args: [...step('ingest', NEXT), '--source', 'tsv:'], exit: USAGE, quotes: 'Invalid --source "tsv:"', rule: SOURCE_RULE },
  { name: 'export that does not exist', point: 0, workspace: 'fresh', breaks: 'an export', args: [...step('ingest', NEXT), '--source', 'export:{root}/result.json'], exit: INPUT, quotes: 'Missing Telegram export "{root}/result.json"', rule: 'expected the result.json of a Telegram Desktop chat export (JSON format)' },
  { name: 'export cut short', point: 0, workspace: 'fresh', breaks: 'an export', args: [...step('ingest', NEXT), '--source', `export:${EXPORT}/result-truncated.json`], exit: INPUT, quotes: 'result-truncated.json: not well-formed JSON', rule: 'expected a Telegram Desktop export in JSON format' },
  { name: 'export with a bad text entity', point: 0, workspace: 'fresh', breaks: 'an export', args: [...step('ingest', NEXT), '--source', `export:${EXPORT}/result-bad-text.json`], exit: INPUT, quotes: 'messages[2].text[1] "{"type":"bold"}"', rule: 'expected a string or an entity object with a "text" string' },
  { name: 'export without date_unixtime', point: 0, workspace: 'fresh', breaks: 'an export', args: [...step('ingest', NEXT), '--source', `export:${EXPORT}/result-bad-date.json`], exit: INPUT, quotes: 'messages[3].date_unixtime (missing)', rule: 'expected Unix seconds as a string' },
  { name: 'export with no message up to the day', point: 0, workspace: 'fresh', breaks: 'an export', args: [...step('ingest', '2024-03-01'), '--source', `export:${EXPORT}/result.json`], exit: INPUT, quotes: 'result.json has no message sent on or before 2024-03-01', rule: 'expected an export that covers that day' },
  {
    name: 'export of another chat than the cursor follows',
    point: 0,
    workspace: 'fresh',
    breaks: 'ingest/cursor.json',
    setup: [write('ingest/cursor.json', JSON.stringify({ chat_id: '-100999', chat_title: 'Другой чат', last_id: 5, last_day: '2024-03-28' }, null, 2) + '\n')],
    args: [...step('ingest', NEXT), '--source', `export:${EXPORT}/result.json`],
    exit: CONFIG,
    quotes: 'is an export of chat -1001234567890, but ingest/cursor.json follows chat -100999',
    rule: 'one workspace holds one chat',
  },

  // Our own: workspaces.
  { name: '--workspace that does not exist', point: 0, workspace: 'none', breaks: '--workspace', args: step('ingest', '2024-03-01', '{root}/missing'), exit: WORKSPACE, quotes: 'Workspace "{root}/missing" does not exist', rule: 'create it with "chatcast init --workspace {root}/missing"', absent: ['{root}/missing'] },
  { name: 'an empty folder as the workspace', point: 0, workspace: 'none', breaks: '--workspace', setup: [async (s) => void (await mkdir(join(s.root, 'empty')))], args: step('train', '2024-03-01', '{root}/empty'), exit: WORKSPACE, quotes: 'Workspace "{root}/empty" is not initialised (no dvc.yaml)', rule: 'run "chatcast init --workspace {root}/empty"' },
  { name: 'a workspace whose .git is gone', point: 0, workspace: 'full', breaks: '.git', setup: [remove('.git')], args: step('ingest', DAY), exit: WORKSPACE, quotes: 'Workspace "{ws}" is not initialised (no .git)', rule: 'run "chatcast init --workspace {ws}"' },
  { name: 'init into a folder that is not empty', point: 0, workspace: 'none', breaks: '--workspace', setup: [folderWith('notes/todo.txt', 'buy milk\n')], args: ['init', '--workspace', '{root}/notes'], exit: WORKSPACE, quotes: 'Cannot init "{root}/notes": the folder is not empty (todo.txt)', rule: 'choose an empty or new folder', absent: ['{root}/notes-dvc-remote', '{root}/notes/.git'] },
  { name: 'init with an unknown --timezone', point: 0, workspace: 'none', breaks: '--timezone', args: ['init', '--workspace', '{root}/new', '--timezone', 'Europe/Berlinn'], exit: USAGE, quotes: 'Invalid --timezone "Europe/Berlinn"', rule: 'expected an IANA time zone such as Europe/Berlin or UTC', absent: ['{root}/new', '{root}/new-dvc-remote'] },
  { name: 'init with an unknown --source', point: 0, workspace: 'none', breaks: '--source', args: ['init', '--workspace', '{root}/new', '--source', 'csv:x'], exit: USAGE, quotes: 'Invalid --source "csv:x"', rule: SOURCE_RULE, absent: ['{root}/new', '{root}/new-dvc-remote'] },
  { name: 'init with a remote URL DVC does not support', point: 0, workspace: 'none', breaks: '--remote', args: ['init', '--workspace', '{root}/new', '--remote', 'foo://bucket/chat'], exit: USAGE, quotes: '--remote "foo://bucket/chat"', rule: /Unsupported URL type foo:\/\/|expected a folder or/, absent: ['{root}/new'] },

  // Our own: the command line.
  { name: 'unknown step', point: 0, workspace: 'none', breaks: 'the step', args: ['frobnicate', '--date', '2024-03-01'], exit: USAGE, quotes: 'Unknown step "frobnicate"', rule: 'expected one of init, login, pull, ingest, aggregate, evaluate, train, forecast, render, report, push, track, run, demo, backtest' },
  { name: 'unknown flag', point: 0, workspace: 'fresh', breaks: 'a flag', args: [...step('ingest', '2024-03-01'), '--frobnicate'], exit: USAGE, quotes: /frobnicate/, rule: /expected.*--source/ },
  { name: 'backtest --days 0', point: 0, workspace: 'none', breaks: '--days', args: ['backtest', '--series', '{root}/hourly.tsv', '--days', '0'], exit: USAGE, quotes: 'Invalid --days "0"', rule: 'expected a whole number of days, at least 1' },
  { name: 'backtest with an unknown --model', point: 0, workspace: 'none', breaks: '--model', args: ['backtest', '--series', '{root}/hourly.tsv', '--model', 'arima'], exit: USAGE, quotes: 'Invalid --model "arima"', rule: /expected one of seed, default, / },
  { name: 'demo with more runs than days', point: 0, workspace: 'none', breaks: '--runs', args: ['demo', '--workspace', '{root}/demo', '--days', '5', '--runs', '10'], exit: USAGE, quotes: 'Invalid --days 5 / --runs 10', rule: 'expected whole numbers with 1 ≤ runs < days ≤ 3660', absent: ['{root}/demo', '{root}/demo-dvc-remote'] },
];

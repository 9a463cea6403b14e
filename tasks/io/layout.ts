import { chmod, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { ChatcastError } from '../core/errors.js';
import { DAY_ENTRY, MONTH_DIR, MONTHLY } from '../core/pipeline.js';
import { exists, readText, writeFiles } from './files.js';

type Logger = { warn: (obj: object, msg: string) => void };
type LockedStages = Record<string, { outs?: { path: string }[] }>;

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

// The month subfolders (YYYY-MM) of a monthly folder, oldest first.
async function monthsIn(dir: string, folder: string): Promise<string[]> {
  return (await entries(join(dir, folder))).filter((n) => MONTH_DIR.test(n));
}

// Moves what a workspace from before the month subfolders keeps at the top of a monthly folder
// (ingest/D.jsonl, forecast/D.json, render/D/, report/outbox/D/) into its month. A `dvc pull` of such a
// workspace's last push brings the top-level entries back, and they are its pushed state, so they
// replace what the month holds. Each move is one rename: a kill leaves the rest to the next step.
export async function migrateLayout(dir: string, log?: Logger): Promise<number> {
  let moved = 0;
  for (const { folder } of Object.values(MONTHLY)) {
    for (const name of await entries(join(dir, folder))) {
      const month = DAY_ENTRY.exec(name)?.[1];
      if (!month) continue;
      const from = join(dir, folder, name);
      const to = join(dir, folder, month, name);
      try {
        await mkdir(join(dir, folder, month), { recursive: true });
        await rm(to, { recursive: true, force: true });
        await rename(from, to);
      } catch (error) {
        throw new ChatcastError('EXTERNAL', `Cannot move ${from} to ${to}: ${(error as Error).message}`, { cause: error });
      }
      moved += 1;
    }
  }
  if (moved > 0) log?.warn({ dir, moved }, `moved ${moved} day file(s) of the layout before month folders into FOLDER/YYYY-MM/`);
  return moved;
}

// The outputs dvc.yaml declares for each monthly stage, from what the workspace holds: the stage's other
// files that exist, then one output per month folder.
async function monthlyOuts(dir: string): Promise<Record<string, string[]>> {
  const outs: Record<string, string[]> = {};
  for (const [stage, { folder, files }] of Object.entries(MONTHLY)) {
    const present = await Promise.all(files.map(async (f) => ((await exists(join(dir, f))) ? [f] : [])));
    outs[stage] = [...present.flat(), ...(await monthsIn(dir, folder)).map((m) => `${folder}/${m}`)];
  }
  return outs;
}

// Rewrites the outputs of the monthly stages in the workspace's dvc.yaml to match its month folders
// (comments and every other line stay), so `dvc commit` stores each month as its own directory. A new
// month gains its line the first time it is pushed. Returns whether dvc.yaml changed.
export async function declareMonths(dir: string): Promise<boolean> {
  const file = join(dir, 'dvc.yaml');
  const text = await readText(file, 'pipeline');
  const doc = YAML.parseDocument(text);
  const outs = await monthlyOuts(dir);
  for (const [stage, paths] of Object.entries(outs)) {
    if (!doc.hasIn(['stages', stage])) continue;
    const list = doc.createNode(paths.map((p) => ({ [p]: { persist: true } })));
    for (const item of list.items) for (const pair of (item as YAML.YAMLMap).items) (pair.value as YAML.YAMLMap).flow = true;
    const old = doc.getIn(['stages', stage, 'outs'], true) as YAML.Node | undefined;
    if (old) list.commentBefore = old.commentBefore;
    doc.setIn(['stages', stage, 'outs'], list);
  }
  const next = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  await forgetWholeFolders(dir);
  if (next === text) return false;
  await writeFiles([{ path: file, data: next }]);
  return true;
}

// DVC ignores each output in git (`/ingest` in the root .gitignore for the folder output of the layout
// before month folders) and does not take the line back when the output goes: it would hide the month
// folders' own .gitignore files from git, and so the month folders from the post-checkout hook.
async function forgetWholeFolders(dir: string): Promise<void> {
  const file = join(dir, '.gitignore');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const whole = new Set(Object.keys(MONTHLY).map((stage) => `/${stage}`));
  const kept = text.split('\n').filter((line) => !whole.has(line)).join('\n');
  if (kept !== text) await writeFiles([{ path: file, data: kept }]);
}

// Removes the month folders a failed run made that the last push does not have, as `dvc checkout`
// removes such files inside a folder it tracks: after a pull the workspace holds the pushed state only.
// A stage whose lock still has the whole folder (the layout before month folders) is left to migrateLayout.
export async function removeUnpushedMonths(dir: string, locked: LockedStages, log?: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const [stage, { folder }] of Object.entries(MONTHLY)) {
    const outs = new Set((locked[stage]?.outs ?? []).map((o) => o.path));
    if ([...outs].some((p) => folder === p || folder.startsWith(`${p}/`))) continue;
    for (const month of await monthsIn(dir, folder)) {
      if (outs.has(`${folder}/${month}`)) continue;
      await rm(join(dir, folder, month), { recursive: true, force: true });
      removed.push(`${folder}/${month}`);
    }
  }
  if (removed.length > 0) log?.warn({ dir, removed }, `removed ${removed.join(', ')}: not in the last push (an interrupted run made them)`);
  return removed;
}

const HOOK_MARK = '# chatcast: month folders';

// The post-checkout hook that makes `git checkout DAY && dvc checkout` restore exactly that day: a month
// folder the checked-out commit does not declare (its folder's .gitignore, which DVC writes, does not
// list it) belongs to later days, and `dvc checkout` would leave it; so would a day file of the layout
// before month folders. Every such entry that was pushed is in the DVC cache and remote; one that was not
// is what a failed run left, as `pull` would remove it.
function checkoutHook(): string {
  const folders = Object.values(MONTHLY).map((m) => m.folder).join(' ');
  return `#!/bin/sh
${HOOK_MARK} (and day files) that the checked-out commit does not have as DVC outputs are another day's.
# Installed by chatcast (see README, "Storage that grows by the day"); branch checkouts only.
[ "$3" = 1 ] || exit 0
cd "$(git rev-parse --show-toplevel)" || exit 0
for folder in ${folders}; do
  for entry in "$folder"/[0-9][0-9][0-9][0-9]-[0-9][0-9]*; do
    [ -e "$entry" ] || continue
    git check-ignore -q "$entry" || rm -rf "$entry"
  done
done
`;
}

// Installs the post-checkout hook (init, and push for a workspace made before it existed). A hook that is
// someone else's is left alone, and the log says what a checkout of an older day may then leave.
export async function installCheckoutHook(dir: string, log?: Logger): Promise<void> {
  const file = join(dir, '.git', 'hooks', 'post-checkout');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined && !text.includes(HOOK_MARK)) {
    log?.warn({ hook: file }, `${file} is not chatcast's: "git checkout DAY && dvc checkout" may leave later months' folders beside that day's`);
    return;
  }
  const hook = checkoutHook();
  if (text === hook) return;
  await mkdir(join(dir, '.git', 'hooks'), { recursive: true });
  await writeFiles([{ path: file, data: hook }]);
  await chmod(file, 0o755);
}

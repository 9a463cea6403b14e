import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { MONTHLY } from '../../tasks/core/pipeline.js';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { declareMonths, installCheckoutHook, migrateLayout, removeUnpushedMonths } from '../../tasks/io/layout.js';
import { chatcast, ROOT, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd }).then((r) => r.stdout.trim());
const dvc = (cwd: string, ...args: string[]) => execa(dvcBinary(), args, { cwd, env: { DVC_NO_ANALYTICS: '1' } }).then((r) => r.stdout.trim());
const put = async (path: string, data = 'x') => {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, data);
};
const outsOf = (text: string, stage: string) =>
  ((YAML.parse(text).stages[stage].outs ?? []) as (string | Record<string, unknown>)[]).map((o) => (typeof o === 'string' ? o : Object.keys(o)[0]));

describe('month folders of the day-by-day artifacts', () => {
  it('migrateLayout moves every day entry of the older flat layout into its month; the moved entry replaces one already there', async () => {
    const dir = await tempDir();
    await put(join(dir, 'ingest', '2024-03-31.jsonl'), 'flat');
    await put(join(dir, 'ingest', '2024-04', '2024-04-01.jsonl'), 'already monthly');
    await put(join(dir, 'ingest', 'cursor.json'), '{}');
    await put(join(dir, 'forecast', '2024-04-01.json'));
    await put(join(dir, 'render', '2024-03-31', 'actual.png'), 'flat chart');
    await put(join(dir, 'render', '2024-03', '2024-03-31', 'actual.png'), 'stale chart');
    await put(join(dir, 'render', '2024-03', '2024-03-31', 'extra.png'), 'stale extra');
    await put(join(dir, 'report', 'outbox', '2024-03-31', 'caption.txt'));
    await put(join(dir, 'report', 'ledger.json'), '{}');
    expect(await migrateLayout(dir)).toBe(4);
    expect(Object.keys(await snapshot(dir)).sort()).toEqual([
      'forecast/2024-04/2024-04-01.json',
      'ingest/2024-03/2024-03-31.jsonl',
      'ingest/2024-04/2024-04-01.jsonl',
      'ingest/cursor.json',
      'render/2024-03/2024-03-31/actual.png',
      'report/ledger.json',
      'report/outbox/2024-03/2024-03-31/caption.txt',
    ]);
    expect(await readFile(join(dir, 'render', '2024-03', '2024-03-31', 'actual.png'), 'utf8')).toBe('flat chart');
    expect(await migrateLayout(dir)).toBe(0);
  });

  it('declareMonths lists each month folder (and the stage files that exist) as an output in dvc.yaml, changing nothing else', async () => {
    const dir = await tempDir();
    const template = await readFile(join(ROOT, 'dvc.yaml'), 'utf8');
    await writeFile(join(dir, 'dvc.yaml'), template);
    // The template is written as the YAML library writes it back: the first rewrite changes only outs.
    expect(await declareMonths(dir)).toBe(false);
    expect(await readFile(join(dir, 'dvc.yaml'), 'utf8')).toBe(template);
    await put(join(dir, 'ingest', '2024-03', '2024-03-31.jsonl'));
    await put(join(dir, 'ingest', '2024-04', '2024-04-01.jsonl'));
    await put(join(dir, 'forecast', '2024-04', '2024-04-01.json'));
    await put(join(dir, 'report', 'ledger.json'), '{}');
    expect(await declareMonths(dir)).toBe(true);
    const text = await readFile(join(dir, 'dvc.yaml'), 'utf8');
    expect(outsOf(text, 'ingest')).toEqual(['ingest/2024-03', 'ingest/2024-04']); // no cursor.json: none yet
    expect(outsOf(text, 'forecast')).toEqual(['forecast/2024-04']);
    expect(outsOf(text, 'render')).toEqual([]);
    expect(outsOf(text, 'report')).toEqual(['report/ledger.json']);
    expect(YAML.parse(text).stages.ingest.outs[0]).toEqual({ 'ingest/2024-03': { persist: true } });
    expect(text).toContain('    outs:\n      - ingest/2024-03: {persist: true}\n      - ingest/2024-04: {persist: true}\n');
    // Every other line is the template's, comments included.
    const others = (t: string) => t.split('\n').filter((l) => !/^ {6}- (ingest|forecast|render|report)\/.*\{persist: true\}$/.test(l) && !/^ {4}outs:( \[\])?$/.test(l));
    expect(others(text)).toEqual(others(template));
    expect(await declareMonths(dir)).toBe(false);
  });

  it('removeUnpushedMonths drops the month folders the last push does not have, and leaves a folder the lock still holds whole', async () => {
    const dir = await tempDir();
    await put(join(dir, 'forecast', '2024-03', '2024-03-31.json'));
    await put(join(dir, 'forecast', '2024-04', '2024-04-01.json')); // a failed run's new month
    await put(join(dir, 'render', '2024-04', '2024-04-01', 'actual.png'));
    await put(join(dir, 'report', 'outbox', '2024-04', '2024-04-01', 'caption.txt'));
    const locked = { forecast: { outs: [{ path: 'forecast/2024-03' }] }, render: { outs: [{ path: 'render/2024-03' }] }, report: { outs: [{ path: 'report' }] } };
    expect((await removeUnpushedMonths(dir, locked)).sort()).toEqual(['forecast/2024-04', 'render/2024-04']);
    expect(existsSync(join(dir, 'forecast', '2024-03', '2024-03-31.json'))).toBe(true);
    expect(existsSync(join(dir, 'report', 'outbox', '2024-04', '2024-04-01', 'caption.txt'))).toBe(true); // `report` is one output there
  });

  it("installs a post-checkout hook that removes the months a checked-out commit does not declare, and leaves someone else's hook alone", async () => {
    const dir = await tempDir();
    await git(dir, 'init', '--quiet');
    await installCheckoutHook(dir);
    const hook = join(dir, '.git', 'hooks', 'post-checkout');
    expect((await stat(hook)).mode & 0o111).not.toBe(0);
    for (const { folder } of Object.values(MONTHLY)) expect(await readFile(hook, 'utf8')).toContain(folder);
    // Two commits as DVC leaves them: each month output listed in its folder's .gitignore.
    await put(join(dir, 'forecast', '.gitignore'), '/2024-03\n');
    await put(join(dir, 'forecast', '2024-03', '2024-03-31.json'));
    await git(dir, 'add', '--all');
    await git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'march');
    await git(dir, 'tag', 'march');
    await writeFile(join(dir, 'forecast', '.gitignore'), '/2024-03\n/2024-04\n');
    await put(join(dir, 'forecast', '2024-04', '2024-04-01.json'));
    await git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--all', '-m', 'april');
    await git(dir, 'checkout', '--quiet', 'march');
    expect(await readdir(join(dir, 'forecast'))).toEqual(['.gitignore', '2024-03']);
    await git(dir, 'checkout', '--quiet', 'HEAD', '--', 'forecast/.gitignore'); // a file checkout runs the hook with $3=0
    expect(existsSync(join(dir, 'forecast', '2024-03', '2024-03-31.json'))).toBe(true);

    const other = await tempDir();
    await git(other, 'init', '--quiet');
    await writeFile(join(other, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\ndvc git-hook post-checkout "$@"\n', { mode: 0o755 });
    const warned: string[] = [];
    await installCheckoutHook(other, { warn: (_obj, msg) => warned.push(msg) });
    expect(await readFile(join(other, '.git', 'hooks', 'post-checkout'), 'utf8')).toContain('dvc git-hook');
    expect(warned[0]).toContain("is not chatcast's");
  });
});

// A workspace pushed before the month folders: flat day files and one DVC output per folder.
async function toFlatLayout(ws: string, day: string) {
  for (const { folder } of Object.values(MONTHLY)) {
    for (const month of (await readdir(join(ws, folder)).catch(() => [] as string[])).filter((n) => /^\d{4}-\d{2}$/.test(n))) {
      for (const name of await readdir(join(ws, folder, month))) await rename(join(ws, folder, month, name), join(ws, folder, name));
      await rm(join(ws, folder, month), { recursive: true });
    }
    await git(ws, 'rm', '--quiet', '--cached', '--ignore-unmatch', `${folder}/.gitignore`);
    await rm(join(ws, folder, '.gitignore'), { force: true });
  }
  const pipeline = YAML.parseDocument(await readFile(join(ws, 'dvc.yaml'), 'utf8'));
  for (const stage of Object.keys(MONTHLY)) pipeline.setIn(['stages', stage, 'outs'], [{ [stage]: { persist: true } }]);
  await writeFile(join(ws, 'dvc.yaml'), pipeline.toString());
  await dvc(ws, 'commit', '--force');
  await git(ws, 'add', '--all');
  await git(ws, 'commit', '--quiet', '--amend', '--no-edit');
  await git(ws, 'tag', '--force', day);
  await dvc(ws, 'push');
}

describe('a workspace pushed before the month folders', () => {
  it('is moved to month folders by its next run, and every day of both layouts still comes back with git checkout + dvc checkout', async () => {
    const root = await tempDir();
    const ws = await workspaceWithHistory(root, 'ws', '2024-03-24', '2024-03-29');
    const first = await chatcast(['run', '--date', '2024-03-30', '--workspace', ws]);
    expect(first.exitCode, first.stderr).toBe(0);
    await toFlatLayout(ws, '2024-03-30');
    const flat = await snapshot(ws);
    expect(Object.keys(flat)).toContain('forecast/2024-03-31.json');
    expect(Object.keys(flat)).toContain('render/2024-03-30/actual.png');

    const run = await chatcast(['run', '--date', '2024-03-31', '--workspace', ws]);
    expect(run.exitCode, run.stderr).toBe(0);
    const monthly = await snapshot(ws);
    // Every day file of the flat layout is in its month now, with the same bytes.
    for (const [path, sha] of Object.entries(flat)) {
      const moved = path.replace(/^(ingest|forecast|render|report\/outbox)\/((\d{4}-\d{2})-\d{2})/, '$1/$3/$2');
      if (moved !== path) expect(monthly[moved], moved).toBe(sha);
    }
    expect(Object.keys(monthly).filter((p) => /^(ingest|forecast|render|report\/outbox)\/\d{4}-\d{2}-\d{2}/.test(p))).toEqual([]);
    const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8'));
    expect(lock.stages.forecast.outs.map((o: { path: string }) => o.path)).toEqual(['forecast/2024-03', 'forecast/2024-04']);
    expect(outsOf(await readFile(join(ws, 'dvc.yaml'), 'utf8'), 'render')).toEqual(['render/2024-03']);

    await git(ws, 'checkout', '--quiet', '2024-03-30');
    await dvc(ws, 'checkout', '--force');
    expect(await snapshot(ws)).toEqual(flat);
    await git(ws, 'checkout', '--quiet', 'main');
    await dvc(ws, 'checkout', '--force');
    expect(await snapshot(ws)).toEqual(monthly);
  }, 600_000);
});

import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dayHours } from '../../tasks/core/dates.js';
import { dvcBinary } from '../../tasks/io/dvc.js';
import { browserPath } from '../../tasks/io/browser.js';
import { chatcast, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';
import { readSeriesText } from '../../tasks/io/artifacts.js';
import { dayPath } from '../../tasks/core/pipeline.js';

const DAYS = ['2024-03-29', '2024-03-30', '2024-03-31']; // the last is Berlin's 23-hour spring day
let root: string;
let ws: string;
let dvcCalls: string[]; // the DVC subcommands the last day's run started, in order
const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd }).then((r) => r.stdout.trim());
const dvc = (cwd: string, ...args: string[]) => execa(dvcBinary(), args, { cwd, env: { DVC_NO_ANALYTICS: '1' } }).then((r) => r.stdout.trim());
const json = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

beforeAll(async () => {
  root = await tempDir();
  // Nine days of history, in-process (the CLI path is covered below), then pushed as one version.
  ws = await workspaceWithHistory(root, 'workspace', '2024-03-20', '2024-03-28');
  // The last day runs DVC through a wrapper that logs each subcommand.
  const calls = join(root, 'dvc-calls.log');
  const logged = join(root, 'dvc-logged');
  await writeFile(logged, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${calls}'\nexec '${dvcBinary()}' "$@"\n`, { mode: 0o755 });
  for (const day of DAYS) {
    const run = await chatcast(['run', '--date', day, '--workspace', ws], day === DAYS.at(-1) ? { CHATCAST_DVC: logged } : {});
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
  }
  dvcCalls = (await readFile(calls, 'utf8')).trim().split('\n');
}, 600_000);

describe('several days of `chatcast run` on real DVC, tfjs and Chromium', () => {
  it('leaves every artifact of every day, versioned and tagged', async () => {
    expect((await git(ws, 'tag')).split('\n')).toEqual(['2024-03-28', ...DAYS]);
    for (const day of DAYS) {
      expect(existsSync(join(ws, dayPath('ingest', day, '.jsonl')))).toBe(true);
      for (const chart of ['actual.png', 'forecast.png']) {
        const png = PNG.sync.read(await readFile(join(ws, dayPath('render', day), chart)));
        expect([png.width, png.height]).toEqual([1200, 600]);
        expect((await readFile(join(ws, dayPath('report/outbox', day), chart))).equals(await readFile(join(ws, dayPath('render', day), chart)))).toBe(true);
      }
      expect(await readFile(join(ws, dayPath('report/outbox', day), 'caption.txt'), 'utf8')).toContain(`Учебный чат — ${day} (Europe/Berlin)`);
    }
    const series = (await readSeriesText(join(ws, 'aggregate', 'hourly'))).trim().split('\n');
    expect(series).toHaveLength(1 + 11 * 24 + 23);
    expect(await dvc(ws, 'status')).toMatch(/up to date/);
    expect((await git(ws, 'status', '--porcelain'))).toBe('');
  });

  it('starts five DVC processes a day: pull, then commit and push for each of its two pushes (the remote is checked without DVC)', () => {
    expect(dvcCalls).toEqual(['pull', 'commit', 'push', 'commit', 'push']);
  });

  it('scores each forecast the next day; the first day is a recorded skip', async () => {
    const history = (await readFile(join(ws, 'evaluate', 'history.tsv'), 'utf8')).trim().split('\n').map((l) => l.split('\t'));
    expect(history.map((r) => [r[0], r[1]])).toEqual([['day', 'status'], ['2024-03-29', 'skipped'], ['2024-03-30', 'scored'], ['2024-03-31', 'scored']]);
    const metrics = await json(join(ws, 'evaluate', 'metrics.json'));
    expect(metrics.day).toBe('2024-03-31');
    expect(metrics.smape).toBeGreaterThanOrEqual(0);
    expect(await dvc(ws, 'metrics', 'show')).toContain('smape');
  });

  it('forecasts every hour of the next chat day: 23 for the spring clock change', async () => {
    const spring = await json(join(ws, dayPath('forecast', '2024-03-31', '.json')));
    expect(spring.made_on).toBe('2024-03-30');
    expect(spring.hours.map((h: { start: string }) => h.start)).toEqual(dayHours('2024-03-31', 'Europe/Berlin').map((h) => h.start));
    for (const h of spring.hours) {
      expect(0 <= h.lo && h.lo <= h.median && h.median <= h.hi && h.mean >= 0 && h.p0 >= 0 && h.p0 <= 1, JSON.stringify(h)).toBe(true);
      expect(h.quantiles).toHaveLength(19);
      expect([h.quantiles[1], h.quantiles[9], h.quantiles[17]]).toEqual([h.lo, h.median, h.hi]);
    }
    expect(spring.params).toEqual({ model: 'auto', select_days: 56, pool: 3 });
    expect(spring.total_range[0]).toBeLessThanOrEqual(spring.total_range[1]);
    expect(typeof spring.model.name).toBe('string');
    expect(spring.data.through).toBe('2024-03-30');
    expect(spring.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await json(join(ws, dayPath('forecast', '2024-04-01', '.json')))).hours).toHaveLength(24);
  });

  it('describes the pipeline truthfully to DVC', async () => {
    const dag = await dvc(ws, 'dag', '--dot');
    const edges = [...dag.matchAll(/"(\w+)" -> "(\w+)"/g)].map((m) => `${m[1]}->${m[2]}`).sort();
    expect(edges).toEqual(
      [
        'ingest->aggregate',
        'aggregate->evaluate',
        'aggregate->train',
        'aggregate->render',
        'aggregate->forecast',
        'train->forecast',
        'forecast->evaluate',
        'forecast->render',
        'forecast->report',
        'evaluate->report',
        'render->report',
        'evaluate->track',
        'forecast->track',
        'render->track',
      ].sort(),
    );
  });

  it('tracks every day locally: `dvc metrics show` and `dvc plots show` give the history, the ledger is versioned', async () => {
    const rows = (await readFile(join(ws, 'track', 'history.tsv'), 'utf8')).trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[2]])).toEqual([['day', 'status'], ['2024-03-29', 'skipped'], ['2024-03-30', 'scored'], ['2024-03-31', 'scored']]);
    expect(rows.slice(1).map((r) => Number(r[1]))).toEqual([9, 10, 11]); // days since the chat's first day, 2024-03-20
    const ledger = await json(join(ws, 'track', 'ledger.json'));
    expect(Object.keys(ledger.trackers)).toEqual(['local']);
    expect(Object.keys(ledger.trackers.local.days)).toEqual(DAYS);
    // The texts that grow by a row a day are versioned by git (small deltas), not stored whole in DVC daily.
    expect(await git(ws, 'ls-files', 'track', 'evaluate')).toBe('evaluate/history.tsv\nevaluate/metrics.json\ntrack/history.tsv\ntrack/index.html\ntrack/ledger.json\ntrack/metrics.json');
    const metrics = JSON.parse(await dvc(ws, 'metrics', 'show', '--json'));
    expect(metrics[''].data['track/metrics.json'].data).toMatchObject({ day: '2024-03-31', status: 'scored', step: 11 });
    const plots = JSON.parse(await dvc(ws, 'plots', 'show', '--json')).data;
    const fields = {
      'Scores by day': ['smape', 'mae', 'rmse', 'mase', 'pinball', 'coverage80'],
      'Messages per day, actual and forecast': ['actual_total', 'forecast_total'],
      'Against the naive forecast (same hour yesterday)': ['smape', 'naive_smape', 'mae', 'naive_mae', 'rmse', 'naive_rmse'],
    };
    for (const [id, ys] of Object.entries(fields)) {
      const content = plots[id][0].content;
      const values = content.data.values as Record<string, string>[];
      expect(new Set(values.map((v) => v.day)), id).toEqual(new Set(DAYS));
      expect(new Set(values.map((v) => v.field)), id).toEqual(new Set(ys));
      expect(values.filter((v) => v.day === '2024-03-31' && v.field === ys[0]).map((v) => v.step)).toEqual(['11']);
      expect(JSON.stringify(content)).toContain('"field":"step"');
    }
    // The hourly series is a folder of month files: DVC plots every hour of every month.
    const months = Object.keys(plots).filter((id) => id.startsWith('aggregate/hourly/'));
    expect(months).toEqual(['aggregate/hourly/2024-03.tsv']);
    const hourly = months.flatMap((id) => (plots[id] as { content: { data: { values: Record<string, string>[] } } }[]).flatMap((p) => p.content.data.values));
    expect(new Set(hourly.map((v) => v.start)).size).toBe(11 * 24 + 23);
  });

  it('the tracked history page renders in headless Chromium with the network off', async () => {
    const { default: puppeteer } = await import('puppeteer');
    const browser = await puppeteer.launch({ executablePath: browserPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.setOfflineMode(true);
      const requested: string[] = [];
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        requested.push(request.url());
        if (request.url().startsWith('file://')) void request.continue();
        else void request.abort();
      });
      const file = `file://${join(ws, 'track', 'index.html')}`;
      await page.goto(file, { waitUntil: 'load' });
      expect(requested).toEqual([file]);
      const drawn = await page.evaluate(() => ({
        charts: [...document.querySelectorAll('svg')].map((s) => ({ box: s.getBoundingClientRect().width, lines: s.querySelectorAll('path').length, points: s.querySelectorAll('circle').length })),
        rows: document.querySelectorAll('tbody tr').length,
        title: document.querySelector('h1')?.textContent,
      }));
      expect(drawn.title).toBe('Учебный чат');
      expect(drawn.rows).toBe(3);
      expect(drawn.charts).toHaveLength(6);
      expect(drawn.charts.every((c) => c.box > 500 && c.lines >= 1)).toBe(true);
      expect(drawn.charts[0].points).toBe(3 + 2); // actual on 3 days, forecast on the 2 that had one
      await page.screenshot({ path: join(root, 'track-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('is idempotent: the same day again gives byte-identical artifacts and no new version', async () => {
    const before = await snapshot(ws);
    const head = await git(ws, 'rev-parse', 'HEAD');
    const rerun = await chatcast(['run', '--date', '2024-03-31', '--workspace', ws]);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('nothing new to push for 2024-03-31');
    expect(await snapshot(ws)).toEqual(before);
    expect(await git(ws, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('a fresh clone plus dvc pull restores every artifact, from the remote alone', async () => {
    const clone = join(root, 'clone');
    await execa('git', ['clone', '--quiet', ws, clone]);
    await dvc(clone, 'pull');
    const original = await snapshot(ws);
    expect(await snapshot(clone)).toEqual(original);
    expect(Object.keys(original).filter((p) => p.endsWith('.png')).length).toBe(12);
    // An older day from the clone: its tag, then dvc pull fetches that version from the remote.
    await git(clone, 'checkout', '--quiet', '2024-03-29');
    await dvc(clone, 'pull', '--force');
    expect((await json(join(clone, 'evaluate', 'metrics.json'))).status).toBe('skipped');
    expect(existsSync(join(clone, dayPath('forecast', '2024-03-31', '.json')))).toBe(false);
  });

  it('git checkout of a day tag plus dvc checkout in the workspace restores that day', async () => {
    const latest = await snapshot(ws);
    await git(ws, 'checkout', '--quiet', '2024-03-30');
    await dvc(ws, 'checkout', '--force');
    try {
      expect((await json(join(ws, 'evaluate', 'metrics.json'))).day).toBe('2024-03-30');
      expect(existsSync(join(ws, dayPath('forecast', '2024-03-31', '.json')))).toBe(true);
      expect(existsSync(join(ws, dayPath('forecast', '2024-04-01', '.json')))).toBe(false);
      expect(existsSync(join(ws, dayPath('render', '2024-03-31')))).toBe(false);
      expect(existsSync(join(ws, dayPath('ingest', '2024-03-31', '.jsonl')))).toBe(false);
    } finally {
      await git(ws, 'checkout', '--quiet', 'main');
      await dvc(ws, 'checkout', '--force');
    }
    expect(await snapshot(ws)).toEqual(latest);
  });

  // Last: it leaves the next day's steps unpushed in the workspace.
  it('a Chromium that cannot start fails the run at render (exit 7), after the steps before it, with nothing pushed', async () => {
    const failed = await chatcast(['run', '--date', '2024-04-01', '--workspace', ws], { CHATCAST_CHROMIUM: join(root, 'no-such-chromium') });
    expect(failed.exitCode, failed.stderr).toBe(7);
    expect(failed.stderr).toContain(`chatcast run: Chromium "${join(root, 'no-such-chromium')}" did not start`);
    expect(existsSync(join(ws, dayPath('forecast', '2024-04-02', '.json')))).toBe(true);
    expect(existsSync(join(ws, 'render', '2024-04-01'))).toBe(false);
    expect((await git(ws, 'tag')).split('\n').at(-1)).toBe('2024-03-31');
  });
});

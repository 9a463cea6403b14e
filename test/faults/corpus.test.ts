// Runs the fault corpus of cases.ts against the built CLI. Two workspaces are prepared once (a fresh
// `chatcast init`, and simulated history pushed and then a whole `chatcast run` of a day); every case
// runs in its own copy of one (with its own copy of the DVC remote), so cases run concurrently and
// none can spoil another. Per case: the exit code; stderr quotes the bad value and states the rule; no
// stack trace; the error is also a JSON log line (level 50) on stdout; no secret echoed; and nothing
// lost or half-written: the sha256 of every file of the workspace and of its remote, and the git refs,
// are what they were, and no `.*.tmp` file is left.
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatcast, FIXTURES, snapshot, tempDir, workspaceWithHistory } from '../helpers.js';
import { CASES, DAY, HISTORY_FIRST, type FaultCase, type Scene } from './cases.js';

let base: string;
const bases: Record<'fresh' | 'full', string> = { fresh: '', full: '' };
// Each prepared workspace is ready when its promise settles: cases of the quick one (and those that need
// none) run while the slow one is still being built.
const ready: Record<'fresh' | 'full', Promise<void>> = { fresh: new Promise(() => undefined), full: new Promise(() => undefined) };
let port = 0;
let today = '';

// A TCP port on 127.0.0.1 that nothing listens on, below 32768 (GramJS keeps ports as signed 16-bit numbers).
async function closedPort(): Promise<number> {
  for (;;) {
    const candidate = 20000 + Math.floor(Math.random() * 12000);
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(candidate, '127.0.0.1', () => resolve(true)));
    if (ok) {
      await new Promise((resolve) => server.close(resolve));
      return candidate;
    }
  }
}

// CHATCAST_FAULTS_BASE=DIR keeps the prepared workspaces in DIR and reuses them on the next run (for
// work on the corpus itself; delete DIR after changing tasks/ or the preparation).
const KEEP = process.env.CHATCAST_FAULTS_BASE;

beforeAll(async () => {
  base = KEEP ?? (await tempDir('chatcast-faults-'));
  port = await closedPort();
  today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date());
  bases.fresh = join(base, 'fresh');
  bases.full = join(base, 'full');
  const prepare = async (name: 'fresh' | 'full', build: () => Promise<void>) => {
    if (KEEP && existsSync(join(base, `${name}.ready`))) return;
    await rm(bases[name], { recursive: true, force: true });
    await mkdir(bases[name]);
    await build();
    if (KEEP) await writeFile(join(base, `${name}.ready`), '');
  };
  ready.fresh = prepare('fresh', async () => {
    const init = await chatcast(['init', '--workspace', join(bases.fresh, 'ws'), '--remote', join(bases.fresh, 'ws-remote')]);
    if (init.exitCode !== 0) throw new Error(`chatcast init failed: ${init.stderr}`);
  });
  ready.full = prepare('full', async () => {
    // Ten simulated days pushed as one version, then the next day's whole pipeline through the CLI.
    const ws = await workspaceWithHistory(bases.full, 'ws', HISTORY_FIRST, '2024-03-29');
    const run = await chatcast(['run', '--date', DAY, '--workspace', ws]);
    if (run.exitCode !== 0) throw new Error(`chatcast run failed: ${run.stderr}`);
  });
  // A failed preparation fails each case that awaits it, with its error; not an unhandled rejection before.
  ready.fresh.catch(() => undefined);
  ready.full.catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled([ready.fresh, ready.full]);
  if (base && !KEEP) await rm(base, { recursive: true, force: true });
}, 300_000);

// A private copy of the case's workspace and remote; the copy's DVC remote is its own (.dvc/config.local).
async function prepare(c: FaultCase): Promise<Scene> {
  const root = await tempDir('chatcast-fault-');
  const scene: Scene = { root, ws: join(root, 'ws'), remote: join(root, 'ws-remote'), fixtures: FIXTURES, port, today, vars: {} };
  if (c.workspace !== 'none') {
    await ready[c.workspace];
    await execa('cp', ['-a', join(bases[c.workspace], 'ws'), join(bases[c.workspace], 'ws-remote'), root]);
    await writeFile(join(scene.ws, '.dvc', 'config.local'), `[remote "storage"]\n    url = ${scene.remote}\n`);
  }
  for (const setup of c.setup ?? []) await setup(scene);
  return scene;
}

// {name} in a case's text, from the scene.
function fill(text: string, scene: Scene): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = name in scene.vars ? scene.vars[name] : (scene as unknown as Record<string, unknown>)[name];
    if (value === undefined || typeof value === 'object') throw new Error(`no value for ${whole}`);
    return String(value);
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A case's string or RegExp with its placeholders filled (in a RegExp, written {name} or \{name\}).
function pattern(expected: string | RegExp, scene: Scene): string | RegExp {
  if (typeof expected === 'string') return fill(expected, scene);
  return new RegExp(expected.source.replace(/\\?\{(\w+)\\?\}/g, (whole, name: string) => (/^\d/.test(name) ? whole : escape(fill(`{${name}}`, scene)))), expected.flags);
}

// Every file's sha256 under a folder (null when the folder is not there).
async function files(dir: string): Promise<Record<string, string> | null> {
  return existsSync(dir) ? snapshot(dir) : null;
}

// Where every branch and tag points, and HEAD ('' without a git repository).
async function refs(ws: string): Promise<string> {
  if (!existsSync(join(ws, '.git'))) return '';
  const heads = await execa('git', ['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: ws });
  const head = await execa('git', ['rev-parse', 'HEAD'], { cwd: ws, reject: false });
  return `${heads.stdout}\nHEAD ${head.stdout}`;
}

// Half-written files (writeFiles' `.NAME.HEX.tmp`, anything git and DVC ignore as `.*.tmp`) under a folder.
async function tempFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(path: string, rel: string) {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
      const sub = rel ? `${rel}/${entry.name}` : entry.name;
      if (sub === '.git' || sub === '.dvc/cache') continue;
      if (entry.isDirectory()) await walk(join(path, entry.name), sub);
      else if (/^\..+\.tmp$/.test(entry.name)) found.push(sub);
    }
  }
  await walk(dir, '');
  return found;
}

type Files = Record<string, string> | null;
interface State {
  root?: Files; // a case without a workspace: its own folder
  workspace?: Files;
  remote?: Files;
  refs?: string;
}

async function state(c: FaultCase, scene: Scene): Promise<State> {
  if (c.workspace === 'none') return { root: await files(scene.root) };
  return { workspace: await files(scene.ws), remote: await files(scene.remote), refs: await refs(scene.ws) };
}

// What may differ after a case that by design records something (FaultCase.writes, .pushes): its files
// are left out, the remote may only have gained files, and refs may only have moved forward.
async function allowed(c: FaultCase, scene: Scene, before: State, after: State): Promise<{ before: State; after: State }> {
  const writes = new Set(c.writes ?? []);
  const drop = (files: Files | undefined) => (files ? Object.fromEntries(Object.entries(files).filter(([path]) => !writes.has(path))) : files);
  const b: State = { ...before, workspace: drop(before.workspace) };
  const a: State = { ...after, workspace: drop(after.workspace) };
  const remote = before.remote;
  if (c.pushes && remote && after.remote) a.remote = Object.fromEntries(Object.entries(after.remote).filter(([path]) => path in remote));
  if (c.pushes && before.refs && after.refs) {
    const parse = (text: string) => new Map(text.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
    const [old, now] = [parse(before.refs), parse(after.refs)];
    for (const [ref, commit] of old) {
      const moved = now.get(ref);
      if (moved && moved !== commit && (await execa('git', ['merge-base', '--is-ancestor', commit, moved], { cwd: scene.ws, reject: false })).exitCode === 0) now.set(ref, commit);
    }
    a.refs = [...now].map((entry) => entry.join(' ')).join('\n');
    b.refs = [...old].map((entry) => entry.join(' ')).join('\n');
  }
  return { before: b, after: a };
}

describe('the table', () => {
  it('holds at least 45 cases with distinct names, each naming an issue point', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(45);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    for (const c of CASES) expect(Number.isInteger(c.point) && c.point >= 0 && c.point <= 13, c.name).toBe(true);
  });
});

// The cases that need no prepared workspace first, then those of the fresh one, then those of the full one
// (which takes longest to prepare).
const ORDER = { none: 0, fresh: 1, full: 2 };
const RUN = [...CASES].sort((a, b) => ORDER[a.workspace] - ORDER[b.workspace]);

describe.concurrent('fault corpus: a clear message, the right exit code, nothing lost or half-written', () => {
  for (const c of RUN) {
    it(`${c.point ? `point ${c.point}` : 'own'}: ${c.name}`, { timeout: 400_000 }, async ({ expect }) => {
      const scene = await prepare(c);
      try {
        const before = await state(c, scene);
        const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v, scene)]));
        const result = await chatcast(c.args.map((a) => fill(a, scene)), env);
        const said = `exit ${result.exitCode}; stderr: ${result.stderr.trim() || '(nothing)'}`;

        expect.soft(result.exitCode, said).toBe(c.exit);
        const quotes = pattern(c.quotes, scene);
        const rule = pattern(c.rule, scene);
        if (typeof quotes === 'string') expect.soft(result.stderr, 'quotes the bad value').toContain(quotes);
        else expect.soft(result.stderr, 'quotes the bad value').toMatch(quotes);
        if (typeof rule === 'string') expect.soft(result.stderr, 'states the rule').toContain(rule);
        else expect.soft(result.stderr, 'states the rule').toMatch(rule);
        expect.soft(result.stderr, 'one line naming chatcast and the step').toMatch(/^chatcast( \w+)?: \S/);
        expect.soft(result.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
        expect.soft(result.stdout, 'no stack trace in the log').not.toMatch(/^\s+at |\\n\s+at /m);
        expect.soft(result.stderr + result.stdout, 'not a bug').not.toContain('Unexpected failure');
        expect.soft(result.stdout, 'the error as a JSON log line').toContain('"level":50');
        if (c.secret) {
          const secret = fill(c.secret, scene);
          expect.soft(result.stdout + result.stderr, 'the secret is not echoed').not.toContain(secret);
          if (secret.length > 40) expect.soft(result.stdout + result.stderr, 'no part of the secret is echoed').not.toContain(secret.slice(1, 40));
        }

        const compared = await allowed(c, scene, before, await state(c, scene));
        expect.soft(compared.after, 'nothing lost or changed').toEqual(compared.before);
        for (const record of c.records ?? []) {
          const text = await readFile(join(scene.ws, record.file), 'utf8').catch(() => '(missing)');
          const expected = pattern(record.contains, scene);
          if (typeof expected === 'string') expect.soft(text, `${record.file} records it`).toContain(expected);
          else expect.soft(text, `${record.file} records it`).toMatch(expected);
        }
        if (c.workspace !== 'none') {
          expect.soft(await tempFiles(scene.ws), 'no half-written file in the workspace').toEqual([]);
          expect.soft(await tempFiles(scene.remote), 'no half-written file in the remote').toEqual([]);
        }
        for (const path of c.absent ?? []) expect.soft(existsSync(fill(path, scene)), `${fill(path, scene)} is not left behind`).toBe(false);
      } finally {
        await rm(scene.root, { recursive: true, force: true });
      }
    });
  }
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from './helpers.js';

// Libraries that only some commands need, by the package folder their modules live in.
const HEAVY = ['@tensorflow', 'puppeteer', 'telegram', 'node-telegram-bot-api', 'plotly.js-dist', 'arquero', 'execa', 'zod', 'stream-json', 'csv-parse', 'pino-pretty'];

// Runs the built CLI under a loader hook and returns what it printed and every module it imported.
async function imports(args: string[], env: Record<string, string> = {}) {
  const log = join(await tempDir(), 'imports.txt');
  const result = await execa('node', ['--import', join(ROOT, 'test', 'support', 'record-imports.mjs'), CLI, ...args], {
    reject: false,
    env: { CHATCAST_IMPORTS_LOG: log, CHATCAST_LOG_LEVEL: 'info', ...env },
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set(urls.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p) => p !== undefined));
  const commands = new Set(urls.map((u) => /\/dist\/commands\/([^/]+)\.js$/.exec(u)?.[1]).filter((c) => c !== undefined));
  const heavy = [...packages].filter((p) => HEAVY.some((h) => p === h || p.startsWith(`${h}/`)));
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), packages, commands, heavy };
}

describe('start-up loads only what the command needs', () => {
  it('`chatcast --help` imports no command module, no heavy library and not yargs', async () => {
    const help = await imports(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('chatcast render');
    expect([...help.commands]).toEqual(['registry']); // the hook saw the imports
    expect([...help.packages]).toEqual([]);
    expect(help.heavy).toEqual([]);
  });

  it('a bad step fails before any command module loads', async () => {
    const bad = await imports(['frobnicate', '--date', '2024-03-01']);
    expect(bad.exitCode).toBe(2);
    expect([...bad.commands]).toEqual(['registry']);
    expect(bad.heavy).toEqual([]);
  });

  it('a step loads its own module, not the browser, Telegram or the Bot API', async () => {
    const push = await imports(['push', '--help']);
    expect(push.exitCode).toBe(0);
    expect(push.stdout).toContain('chatcast push');
    expect([...push.commands].sort()).toEqual(['command', 'push', 'registry']);
    expect(push.packages).toContain('yargs');
    for (const lib of ['puppeteer', 'telegram', 'node-telegram-bot-api', 'plotly.js-dist', 'pino-pretty']) expect(push.packages).not.toContain(lib);
  });
});

describe('`chatcast --help` without yargs', () => {
  it('prints byte for byte what yargs prints (the help the build saved)', async () => {
    const fast = await imports(['--help']);
    const slow = await imports(['--help'], { CHATCAST_HELP: 'yargs' });
    expect(slow.packages).toContain('yargs');
    expect(fast.packages).not.toContain('yargs');
    expect({ exitCode: fast.exitCode, stderr: fast.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect({ exitCode: slow.exitCode, stderr: slow.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(slow.stdout).toContain('chatcast aggregate');
    expect(Buffer.from(fast.stdout).equals(Buffer.from(slow.stdout))).toBe(true);
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { chatcast, ROOT, snapshot, tempDir } from '../helpers.js';

describe('chatcast init', () => {
  it('makes a git + DVC workspace from the templates, with a local remote, and changes nothing when run again', async () => {
    const root = await tempDir();
    const ws = join(root, 'chat');
    const first = await chatcast(['init', '--workspace', ws, '--timezone', 'Asia/Tokyo', '--title', 'Тестовый чат']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await readFile(join(ws, 'dvc.yaml'), 'utf8')).toBe(await readFile(join(ROOT, 'dvc.yaml'), 'utf8'));
    const paramsText = await readFile(join(ws, 'params.yaml'), 'utf8');
    expect(paramsText).toContain('# IANA zone'); // the template's comments survive
    expect(YAML.parse(paramsText).chat).toEqual({ id: '', title: 'Тестовый чат', timezone: 'Asia/Tokyo' });
    expect(await readFile(join(ws, '.dvc', 'config'), 'utf8')).toContain(`url = ${join(root, 'chat-dvc-remote')}`);
    expect((await execa('git', ['log', '--format=%s'], { cwd: ws })).stdout).toBe('chatcast workspace');
    expect((await execa('git', ['status', '--porcelain'], { cwd: ws })).stdout).toBe('');

    const before = await snapshot(ws);
    const again = await chatcast(['init', '--workspace', ws]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('already is a workspace; nothing changed');
    expect(await snapshot(ws)).toEqual(before);
  });

  it('refuses a folder that holds other files', async () => {
    const root = await tempDir();
    await execa('touch', [join(root, 'notes.txt')]);
    const result = await chatcast(['init', '--workspace', root]);
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain(`Cannot init "${root}": the folder is not empty (notes.txt); choose an empty or new folder`);
  });
});

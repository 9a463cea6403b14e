import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { chatcast, tempDir } from '../helpers.js';

// A crash in the middle of writeFiles leaves `.NAME.HEX.tmp` beside its target. Such a file is never
// versioned (git and DVC ignore the pattern) and the next step removes it.
describe('half-written files of an interrupted run', () => {
  it('are removed by the next step, ignored by git and DVC, and never pushed', async () => {
    const ws = join(await tempDir(), 'ws');
    expect((await chatcast(['init', '--workspace', ws])).exitCode).toBe(0);
    expect((await chatcast(['ingest', '--date', '2024-03-01', '--workspace', ws])).exitCode).toBe(0);
    const leftovers = [join(ws, 'ingest', '2024-03', '.2024-03-02.jsonl.0123456789ab.tmp'), join(ws, 'aggregate', '.hourly.tsv.a1b2c3d4e5f6.tmp')];
    await execa('mkdir', ['-p', join(ws, 'aggregate')]);
    for (const file of leftovers) await writeFile(file, 'half a file');
    // git and DVC would not version them even now
    expect((await execa('git', ['check-ignore', ...leftovers], { cwd: ws })).stdout.split('\n')).toHaveLength(2);
    expect(await readFile(join(ws, '.dvcignore'), 'utf8')).toContain('.*.tmp');
    // the next step removes them, and says so
    const aggregate = await chatcast(['aggregate', '--date', '2024-03-01', '--workspace', ws]);
    expect(aggregate.exitCode, aggregate.stderr).toBe(0);
    expect(aggregate.stdout).toContain('removed 2 half-written file(s)');
    expect(leftovers.map(existsSync)).toEqual([false, false]);
    // one more appears just before push: push drops it before committing, and nothing tracked holds a temp name
    await writeFile(leftovers[0], 'half a file');
    const push = await chatcast(['push', '--date', '2024-03-01', '--workspace', ws]);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(existsSync(leftovers[0])).toBe(false);
    expect((await execa('git', ['ls-files'], { cwd: ws })).stdout).not.toContain('.tmp');
    const lock = YAML.parse(await readFile(join(ws, 'dvc.lock'), 'utf8'));
    expect(lock.stages.ingest.outs.map((o: { path: string }) => o.path)).toEqual(['ingest/2024-03']);
    const ingestDir = lock.stages.ingest.outs[0].md5 as string;
    const listing = await readFile(join(ws, '.dvc', 'cache', 'files', 'md5', ingestDir.slice(0, 2), ingestDir.slice(2)), 'utf8');
    expect(JSON.parse(listing).map((e: { relpath: string }) => e.relpath)).toEqual(['2024-03-01.jsonl']);
  });
});

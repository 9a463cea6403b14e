import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../tasks/commands/ingest.js';
import { dayBounds, daysFrom } from '../../tasks/core/dates.js';
import { exportEdited, exportMessage, mergeRepeat, type ExportEntry } from '../../tasks/core/export.js';
import { formatPartition, parseMessagesTsv, parsePartition, type Message } from '../../tasks/core/messages.js';
import { byDay, mergePartition } from '../../tasks/core/telegram.js';
import { tsvIndexPath } from '../../tasks/io/sources.js';
import { openWorkspace } from '../../tasks/io/workspace.js';
import { chatcast, quietContext, snapshot, tempDir } from '../helpers.js';
import { tempFiles } from '../support/kill.js';
import { dayPath } from '../../tasks/core/pipeline.js';

// Issue 12: `ingest --source export:FILE` spills to disk instead of holding the export, and `tsv:FILE`
// reads one day through an index. The partitions must be what the old code wrote, byte for byte, and
// no spill or temp file may outlive the step.
const ZONE = 'Europe/Berlin';

async function workspace(root: string, source = 'mtproto') {
  const dir = join(root, 'ws');
  const init = await chatcast(['init', '--workspace', dir, '--source', source, '--timezone', ZONE]);
  expect(init.exitCode, init.stderr).toBe(0);
  return dir;
}

async function partitions(dir: string): Promise<Record<string, string>> {
  const months = (await readdir(join(dir, 'ingest'))).filter((n) => /^\d{4}-\d{2}$/.test(n));
  const names = (await Promise.all(months.map(async (m) => (await readdir(join(dir, 'ingest', m))).map((n) => join(m, n))))).flat().filter((n) => n.endsWith('.jsonl')).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n.slice(8, 18), await readFile(join(dir, 'ingest', n), 'utf8')] as const)));
}

const start = Date.parse('2024-03-25T00:00:00Z') / 1000;
const item = (id: number, unix: number, extra: Record<string, unknown> = {}) => ({ id, type: 'message', date: 'x', date_unixtime: String(unix), from_id: `user${id % 5}`, text: `m${id}`, ...extra });

describe('ingest at scale: the same partitions, nothing left behind', () => {
  it('imports an export with repeated ids into a workspace that has partitions: what the in-memory import wrote', async () => {
    const root = await tempDir();
    const dir = await workspace(root);
    const ws = await openWorkspace(dir);
    // A partition already there (an earlier mtproto run): its copy of an id wins, its other messages stay.
    const stored: Message[] = [
      { id: 40, at: new Date((start + 40 * 1800) * 1000).toISOString().replace('.000Z', 'Z'), sender: '0', kind: 'photo', reply_to: null },
      { id: 99_999, at: '2024-03-26T12:00:00Z', sender: '7', kind: 'text', reply_to: null },
    ];
    await mkdir(join(dir, 'ingest', '2024-03'), { recursive: true });
    await writeFile(join(dir, dayPath('ingest', '2024-03-26', '.jsonl')), formatPartition(stored));
    const messages = Array.from({ length: 600 }, (_, i) => item(i + 1, start + (i + 1) * 1800));
    messages.push({ ...item(300, start + 300 * 1800), text: 'edited', edited_unixtime: String(start + 10 ** 6) }, item(70_000, start + 3600), { ...item(2, start + 2 * 1800) });
    const file = join(root, 'result.json');
    await writeFile(file, JSON.stringify({ id: 1234567890, type: 'private_supergroup', messages }, null, 1));
    const day = '2024-04-05';
    await ingest(ws, day, quietContext(Date.parse('2024-04-10T00:00:00Z')), `export:${file}`);

    // The old way: every message in one Map, merged by id, grouped by day, merged with what was stored.
    const seen = new Map<number, ExportEntry>();
    messages.forEach((value, index) => {
      const entry: ExportEntry = { message: exportMessage(value, index, file, false, Date.parse('2024-04-10T00:00:00Z')), index, edited: exportEdited(value) };
      const kept = seen.get(value.id);
      seen.set(value.id, kept ? mergeRepeat(kept, entry, file) : entry);
    });
    const { endMs } = dayBounds(day, ZONE);
    const grouped = byDay([...seen.values()].map((e) => e.message).filter((m) => Date.parse(m.at) < endMs), ZONE);
    const want = Object.fromEntries(
      daysFrom('2024-03-25', day).map((d) => [d, formatPartition(mergePartition(d === '2024-03-26' ? stored : [], grouped.get(d) ?? []))]),
    );
    expect(await partitions(dir)).toEqual(want);
    expect(parsePartition(want['2024-03-26'], 'p').find((m) => m.id === 40)?.kind).toBe('photo');
    expect(JSON.parse(await readFile(join(dir, 'ingest', 'cursor.json'), 'utf8'))).toMatchObject({ last_id: 70_000, last_day: day });
    // The spill folder is gone and no temp file is left.
    await expect(stat(join(dir, '.chatcast', 'import'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('leaves the workspace as it was when the export is refused half-way (a clash after thousands of messages)', async () => {
    const root = await tempDir();
    const dir = await workspace(root);
    const messages = Array.from({ length: 3000 }, (_, i) => item(i + 1, start + i * 300));
    messages.push(item(17, start + 5));
    const file = join(root, 'clash.json');
    await writeFile(file, JSON.stringify({ id: 1234567890, type: 'private_supergroup', messages }));
    const before = await snapshot(dir);
    const run = await chatcast(['ingest', '--workspace', dir, '--date', '2024-04-05', '--source', `export:${file}`]);
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain('messages[16] and messages[3000] both have id 17 but were sent at');
    expect(await snapshot(dir)).toEqual(before);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('removes the spill files a killed import left, on the next ingest of any source', async () => {
    const root = await tempDir();
    const dir = await workspace(root, 'simulate');
    const left = join(dir, '.chatcast', 'import', 'days');
    await mkdir(left, { recursive: true });
    await writeFile(join(left, '2024-03-30'), '1711800000\t1\t0\t0\t{}\n');
    const run = await chatcast(['ingest', '--workspace', dir, '--date', '2024-04-01']);
    expect(run.exitCode, run.stderr).toBe(0);
    await expect(stat(join(dir, '.chatcast', 'import'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('ingests a TSV source day by day as the whole-file read did, reusing its index until the file changes', async () => {
    const root = await tempDir();
    const dir = await workspace(root);
    const rows = ['datetime\tuser_id\ttext'];
    for (let i = 0; i < 300; i++) rows.push(`${new Date((start + ((i * 37) % 300) * 2400) * 1000).toISOString().slice(0, 19).replace('T', ' ')}+00:00\t${i % 4}\t${i % 6 ? `"t ${i}\nnext"` : ''}`);
    const file = join(root, 'all_messages.csv');
    const content = rows.join('\n') + '\n';
    await writeFile(file, content);
    const all = parseMessagesTsv(content, file);
    const index = tsvIndexPath(join(dir, '.chatcast'), file);
    const indexTimes: number[] = [];
    for (const day of ['2024-03-26', '2024-03-27', '2024-03-28']) {
      const run = await chatcast(['ingest', '--workspace', dir, '--date', day, '--source', `tsv:${file}`]);
      expect(run.exitCode, run.stderr).toBe(0);
      const { startMs, endMs } = dayBounds(day, ZONE);
      const want = formatPartition(all.filter((m) => Date.parse(m.at) >= startMs && Date.parse(m.at) < endMs));
      expect(await readFile(join(dir, dayPath('ingest', day, '.jsonl')), 'utf8')).toBe(want);
      indexTimes.push((await stat(index)).mtimeMs);
    }
    // Built by the first day's run, read (not rebuilt) by the later ones.
    expect(new Set(indexTimes).size).toBe(1);
    await writeFile(file, `${content}2024-03-29 10:00:00+00:00\t9\tновое\n`);
    const run = await chatcast(['ingest', '--workspace', dir, '--date', '2024-03-29', '--source', `tsv:${file}`]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await readFile(join(dir, dayPath('ingest', '2024-03-29', '.jsonl')), 'utf8')).toContain('"sender":"9"');
    expect(JSON.parse(await readFile(index, 'utf8')).size).toBe((await stat(file)).size);
    expect(await tempFiles(dir)).toEqual([]);
  });
});

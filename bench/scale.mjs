// Scale benchmark (issue 12): imports synthetic Telegram Desktop exports of 1M, 3M and 10M messages over
// five years and ingests the same messages as the original system's all_messages.csv (TSV) day by day,
// each through the real CLI in a child process, and prints wall time and peak RSS against the targets.
// Usage: npm run bench:scale  (BENCH_SCALE_SIZES=1000000,3000000 to run fewer sizes)
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { cpus, tmpdir, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000000,3000000,10000000').split(',').map(Number);
const TARGET_SECONDS = 90;
const TARGET_MB = 400;
const FLAT = 1.5; // the largest import's peak may be at most this times the smallest's
const DAY_MS = 86_400_000;
// Five years of history ending on a day that has ended everywhere.
const LAST_DAY = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS).toISOString().slice(0, 10);
const TO_MS = Date.parse(LAST_DAY) + DAY_MS;
const FROM_MS = TO_MS - 5 * 365 * DAY_MS;

// A seeded generator (mulberry32), so every run reads the same files.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeLines(file, produce) {
  const out = createWriteStream(file, { highWaterMark: 1 << 22 });
  let buffer = '';
  const write = async (text) => {
    buffer += text;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  };
  await produce(write);
  out.write(buffer);
  out.end();
  await once(out, 'finish');
}

// Messages in time order with ids from 1, like test/support/kill.ts writeBigExport, in both formats.
async function writeSources(count, exportFile, tsvFile) {
  const next = random(count);
  const span = TO_MS - FROM_MS;
  const tsv = createWriteStream(tsvFile, { highWaterMark: 1 << 22 });
  let tsvBuffer = 'datetime\tuser_id\ttext\n';
  await writeLines(exportFile, async (write) => {
    await write(`{\n "name": "Большой чат",\n "type": "private_supergroup",\n "id": 1234567890,\n "messages": [\n`);
    for (let i = 0; i < count; i++) {
      const id = i + 1;
      const unix = Math.floor((FROM_MS + ((i + next()) / count) * span) / 1000);
      const user = 100 + Math.floor(next() * 40);
      const kind = next();
      const text = kind < 0.8 ? `сообщение номер ${id}` : '';
      const item = { id, type: 'message', date: new Date(unix * 1000).toISOString().slice(0, 19), date_unixtime: String(unix), from: `Участник ${user}`, from_id: `user${user}`, text, text_entities: [] };
      if (kind >= 0.8 && kind < 0.9) item.photo = `photos/photo_${id}.jpg`;
      else if (kind >= 0.9) item.media_type = 'sticker';
      if (id > 1 && next() < 0.2) item.reply_to_message_id = 1 + Math.floor(next() * (id - 1));
      await write(`  ${JSON.stringify(item)}${i + 1 < count ? ',' : ''}\n`);
      tsvBuffer += `${new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' ')}+00:00\t${user}\t${text}\n`;
      if (tsvBuffer.length > 1 << 20) {
        if (!tsv.write(tsvBuffer)) await once(tsv, 'drain');
        tsvBuffer = '';
      }
    }
    await write(' ]\n}\n');
  });
  tsv.write(tsvBuffer);
  tsv.end();
  await once(tsv, 'finish');
}

// Runs the CLI under /usr/bin/time -v (peak RSS from the kernel), else polls /proc for VmHWM.
async function measure(args, cwd) {
  const started = process.hrtime.bigint();
  const useTime = existsSync('/usr/bin/time');
  const command = useTime ? '/usr/bin/time' : process.execPath;
  const argv = useTime ? ['-v', process.execPath, CLI, ...args] : [CLI, ...args];
  const child = spawn(command, argv, { cwd, env: { ...process.env, CHATCAST_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let polledKb = 0;
  const poll = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > polledKb) polledKb = kb;
    } catch {
      // gone
    }
  }, 100);
  const [code] = await once(child, 'exit');
  clearInterval(poll);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const timeKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0);
  const mb = (timeKb || polledKb) / 1024;
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  if (code !== 0) throw new Error(`chatcast ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}\n${stdout.slice(-500)}`);
  return { seconds, mb, cpu };
}

async function init(dir, name) {
  const ws = join(dir, name);
  const result = spawnSync(process.execPath, [CLI, 'init', '--workspace', ws, '--source', 'mtproto', '--remote', join(dir, `${name}-remote`)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`chatcast init failed: ${result.stderr}`);
  return ws;
}

const pass = (ok) => (ok ? 'PASS' : 'FAIL');
const fmt = (n, d = 1) => n.toFixed(d).padStart(7);

const dir = await mkdtemp(join(tmpdir(), 'chatcast-bench-scale-'));
const rows = [];
try {
  console.log(`chatcast bench:scale — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GB RAM, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; other work shares this machine, so times vary between runs.`);
  console.log(`history: ${new Date(FROM_MS).toISOString().slice(0, 10)} … ${LAST_DAY} (5 years); targets: import ≤ ${TARGET_SECONDS} s and ≤ ${TARGET_MB} MB peak RSS, peak at the largest size ≤ ${FLAT}× the smallest's; TSV: a later day reads only its own rows.`);
  for (const count of SIZES) {
    const exportFile = join(dir, `result-${count}.json`);
    const tsvFile = join(dir, `all_messages-${count}.csv`);
    const t0 = Date.now();
    await writeSources(count, exportFile, tsvFile);
    const exportMb = (await stat(exportFile)).size / 1e6;
    const tsvMb = (await stat(tsvFile)).size / 1e6;
    console.log(`\n${count.toLocaleString('en')} messages: result.json ${exportMb.toFixed(0)} MB, all_messages.csv ${tsvMb.toFixed(0)} MB (written in ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    const ws = await init(dir, `ws-${count}`);
    const imported = await measure(['ingest', '--workspace', ws, '--date', LAST_DAY, '--source', `export:${exportFile}`], dir);
    console.log(`  export import        ${fmt(imported.seconds)} s (target ≤ ${TARGET_SECONDS}) ${pass(imported.seconds <= TARGET_SECONDS)}   peak ${fmt(imported.mb, 0)} MB (target ≤ ${TARGET_MB}) ${pass(imported.mb <= TARGET_MB)}   cpu ${fmt(imported.cpu)} s`);
    await rm(ws, { recursive: true, force: true });
    await rm(join(dir, `ws-${count}-remote`), { recursive: true, force: true });
    await rm(exportFile, { force: true });
    const tsvWs = await init(dir, `tsv-${count}`);
    const firstDay = new Date(TO_MS - 2 * DAY_MS).toISOString().slice(0, 10);
    const first = await measure(['ingest', '--workspace', tsvWs, '--date', firstDay, '--source', `tsv:${tsvFile}`], dir);
    const later = await measure(['ingest', '--workspace', tsvWs, '--date', LAST_DAY, '--source', `tsv:${tsvFile}`], dir);
    console.log(`  TSV first day ${firstDay} (reads and indexes the file) ${fmt(first.seconds)} s   peak ${fmt(first.mb, 0)} MB   cpu ${fmt(first.cpu)} s`);
    console.log(`  TSV later day ${LAST_DAY} (its rows only)            ${fmt(later.seconds)} s   peak ${fmt(later.mb, 0)} MB   cpu ${fmt(later.cpu)} s   (was 64 s and 2.8 GB per day at 2M rows; 10M ran out of memory)`);
    rows.push({ count, imported, first, later });
    await rm(tsvWs, { recursive: true, force: true });
    await rm(join(dir, `tsv-${count}-remote`), { recursive: true, force: true });
    await rm(tsvFile, { force: true });
  }
  console.log(`\nload average now ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores: wall times include waiting for the CPU; cpu is the step's own user+sys time.`);
  console.log('summary            measured              target');
  for (const { count, imported, later } of rows) {
    console.log(`  import ${String(count / 1e6).padStart(3)}M   ${fmt(imported.seconds)} s ${fmt(imported.mb, 0)} MB     ≤ ${TARGET_SECONDS} s ≤ ${TARGET_MB} MB   ${pass(imported.seconds <= TARGET_SECONDS && imported.mb <= TARGET_MB)}`);
    console.log(`  tsv day ${String(count / 1e6).padStart(2)}M   ${fmt(later.seconds)} s ${fmt(later.mb, 0)} MB     ≤ ${TARGET_SECONDS} s ≤ ${TARGET_MB} MB   ${pass(later.seconds <= TARGET_SECONDS && later.mb <= TARGET_MB)}`);
  }
  if (rows.length > 1) {
    const ratio = rows.at(-1).imported.mb / rows[0].imported.mb;
    console.log(`  flatness: import peak ${rows.at(-1).count / 1e6}M / ${rows[0].count / 1e6}M = ${ratio.toFixed(2)}× (target ≤ ${FLAT}×) ${pass(ratio <= FLAT)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

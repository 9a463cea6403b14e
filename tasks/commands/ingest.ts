import { readdir, rm } from 'node:fs/promises';
import { addDays, dayBounds, dayOf, daysFrom } from '../core/dates.js';
import { ChatcastError } from '../core/errors.js';
import { formatPartition, parsePartition, type Message } from '../core/messages.js';
import { parseSource } from '../core/sources.js';
import { dayPath, MONTH_DIR, PATHS } from '../core/pipeline.js';
import { byDay, fetchThrough, mergePartition, parseChatRef, type Cursor, type History } from '../core/telegram.js';
import { CURSOR, cursorFile, readCursor } from '../io/artifacts.js';
import { exists, FileBatch, readText, scratchDir, writeFiles } from '../io/files.js';
import { readDay } from '../io/sources.js';
import { importExport, readExportChatId, readImportedDay } from '../io/export.js';
import { progressBar } from '../io/progress.js';
import { resolveFrom, type Workspace } from '../io/workspace.js';
import { defineCommand, openStep, STEP_ARGS, type Context, type StepArgs } from './command.js';

// Where a day's partition lives.
export function partitionPath(ws: Workspace, day: string): string {
  return ws.path(dayPath(PATHS.ingest, day, '.jsonl'));
}

// The days that have a partition, in order.
export async function partitionDays(ws: Workspace): Promise<string[]> {
  const months = (await readdir(ws.path(PATHS.ingest)).catch(() => [] as string[])).filter((n) => MONTH_DIR.test(n));
  const names = (await Promise.all(months.map((m) => readdir(ws.path(PATHS.ingest, m)).catch(() => [] as string[])))).flat();
  return names.filter((n) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(n)).map((n) => n.slice(0, 10)).sort();
}

async function readPartition(ws: Workspace, day: string): Promise<Message[] | undefined> {
  const file = partitionPath(ws, day);
  return (await exists(file)) ? parsePartition(await readText(file, 'ingest partition'), file) : undefined;
}

// Adds messages to the partitions of `days` (every day gets a file, empty when silent) and saves the
// cursor in the same atomic write.
async function writeDays(ws: Workspace, days: string[], messages: Message[], cursor: Cursor | undefined, zone: string) {
  const grouped = byDay(messages, zone);
  const files: { path: string; data: string }[] = [];
  for (const day of days) {
    const merged = mergePartition((await readPartition(ws, day)) ?? [], grouped.get(day) ?? []);
    files.push({ path: partitionPath(ws, day), data: formatPartition(merged) });
  }
  if (cursor) files.push(cursorFile(ws, cursor));
  return writeFiles(files);
}

// Incremental MTProto ingestion through the narrow History interface: every message after the cursor's
// id up to the end of `day`, oldest first, into the partitions of its own days.
export async function ingestFromHistory(ws: Workspace, day: string, ctx: Context, history: History, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))) {
  const zone = ws.params.chat.timezone;
  const cursor = await readCursor(ws);
  const chat = await history.resolve(parseChatRef(ws.params.ingest.chat));
  if (cursor && cursor.chat_id !== chat.id) {
    throw new ChatcastError('CONFIG', `params.yaml ingest.chat is chat ${chat.id} (${chat.title}), but ${CURSOR} follows chat ${cursor.chat_id} (${cursor.chat_title}): one workspace holds one chat`);
  }
  if (cursor && cursor.last_day >= day) {
    if (!(await exists(partitionPath(ws, day)))) {
      throw new ChatcastError('STATE', `${day} is before the ingest cursor (${cursor.last_day}) and has no partition: load older history with --source export:FILE`);
    }
    ctx.log.info({ step: 'ingest', day, source: 'mtproto', cursor }, `${day} was already ingested (cursor at ${cursor.last_day}, id ${cursor.last_id}): nothing to fetch`);
    return { messages: 0, days: [] as string[] };
  }
  const firstDay = cursor ? addDays(cursor.last_day, 1) : (ws.params.ingest.since ?? day);
  if (firstDay > day) {
    throw new ChatcastError('CONFIG', `Invalid params.yaml ingest.since "${firstDay}": expected a day on or before ${day}`);
  }
  // Without a stored id, start at the first message of firstDay (none yet: nothing to fetch).
  let afterId = cursor?.last_id ?? null;
  if (afterId === null) {
    const first = await history.firstIdFrom(chat.id, dayBounds(firstDay, zone).startMs);
    afterId = first === undefined ? null : first - 1;
  }
  const fetched =
    afterId === null
      ? { messages: [] as Message[], pages: 0, waitedSeconds: 0 }
      : await fetchThrough(history, chat.id, afterId, dayBounds(day, zone).endMs, {
          pageSize: ws.params.ingest.page_size,
          maxWaitSeconds: ws.params.ingest.max_wait_seconds,
          maxTotalWaitSeconds: floodBudget(process.env),
          sleep,
          onPage: (page) => ctx.log.debug({ step: 'ingest', ...page }, 'history page'),
        });
  const early = fetched.messages.find((m) => dayOf(Date.parse(m.at), zone) < firstDay);
  if (early) throw new ChatcastError('EXTERNAL', `Telegram returned message ${early.id} of ${early.at}, before ${firstDay}: expected only newer messages`);
  const days = daysFrom(firstDay, day);
  const next: Cursor = { chat_id: chat.id, chat_title: chat.title, last_id: fetched.messages.at(-1)?.id ?? cursor?.last_id ?? null, last_day: day };
  await writeDays(ws, days, fetched.messages, next, zone);
  ctx.log.info(
    { step: 'ingest', day, source: 'mtproto', chat: chat.id, messages: fetched.messages.length, pages: fetched.pages, waitedSeconds: fetched.waitedSeconds, days: days.length, cursor: next },
    `ingested ${fetched.messages.length} messages for ${days.length === 1 ? day : `${firstDay} … ${day}`} (${fetched.pages} pages)`,
  );
  return { messages: fetched.messages.length, days };
}

// $CHATCAST_FLOOD_WAIT_MAX_SECONDS bounds all FLOOD_WAIT sleeping of one ingest (the DAG sets it to half
// the task's time limit), so a throttled run fails retryably instead of being killed asleep.
function floodBudget(env: NodeJS.ProcessEnv): number {
  const value = env.CHATCAST_FLOOD_WAIT_MAX_SECONDS;
  if (value === undefined || value === '') return 1800;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new ChatcastError('CONFIG', `Invalid CHATCAST_FLOOD_WAIT_MAX_SECONDS "${value}": expected whole seconds, at least 1`);
  }
  return Number(value);
}

// A Telegram Desktop export: every day from its first message through `day`, merged by id.
async function ingestExport(ws: Workspace, day: string, ctx: Context, file: string) {
  const zone = ws.params.chat.timezone;
  const chatId = await readExportChatId(file);
  const cursor = await readCursor(ws);
  if (cursor && cursor.chat_id !== chatId) {
    throw new ChatcastError('CONFIG', `${file} is an export of chat ${chatId}, but ${CURSOR} follows chat ${cursor.chat_id}: one workspace holds one chat`);
  }
  const { endMs } = dayBounds(day, zone);
  const bar = progressBar('export', 100, ctx.interactive);
  let shown = 0;
  // Spill files of the import live in the workspace's private folder, removed first (a killed run's)
  // and at the end, whatever happens.
  const scratch = await scratchDir(ws.path('.chatcast', 'import'));
  const batch = new FileBatch();
  try {
    const imported = await importExport(file, {
      storeText: ws.params.ingest.store_text,
      zone,
      endMs,
      scratch: scratch.path,
      onProgress: (read, size) => {
        const percent = Math.floor((100 * read) / size);
        for (; shown < percent; shown++) bar.tick(`${Math.round(read / 1e6)} MB`);
      },
    });
    bar.stop();
    if (imported.kept === 0) {
      throw new ChatcastError('INPUT', `${file} has no message sent on or before ${day} (${imported.total} messages in all): expected an export that covers that day`);
    }
    const days = daysFrom(dayOf(imported.firstMs!, zone), day);
    const next: Cursor = {
      chat_id: chatId,
      chat_title: cursor?.chat_title ?? chatId,
      last_id: Math.max(cursor?.last_id ?? 0, imported.maxId),
      last_day: cursor && cursor.last_day > day ? cursor.last_day : day,
    };
    // A few days at a time: their partitions are all that is in memory, each staged to disk (and
    // synced, which is most of the wait: several at once let the disk overlap them) until all are.
    const queue = [...days];
    const stageDays = async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
        const incoming = readImportedDay(imported, d);
        const stored = await readPartition(ws, d);
        await batch.stage(partitionPath(ws, d), stored ? formatPartition(mergePartition(stored, incoming.map((m) => JSON.parse(m.json) as Message))) : importedPartition(incoming));
      }
    };
    const staged = await Promise.allSettled(Array.from({ length: 8 }, stageDays));
    const failed = staged.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const cursorOut = cursorFile(ws, next);
    await batch.stage(cursorOut.path, cursorOut.data);
    const written = await batch.commit();
    ctx.log.info(
      { step: 'ingest', day, source: 'export', file, messages: imported.kept, skippedAfterDay: imported.later, days: days.length, changedFiles: written.length },
      `ingested ${imported.kept} messages from the export into ${days.length} days (${days[0]} … ${day})`,
    );
    return { messages: imported.kept, days };
  } finally {
    bar.stop();
    await batch.abort();
    await scratch.remove();
  }
}

// A new partition straight from an import's lines: the bytes formatPartition gives the same messages
// (time order, then id; each line is the message's JSON in partition key order), without re-parsing.
export function importedPartition(lines: { at: number; id: number; json: string }[]): string {
  lines.sort((a, b) => a.at - b.at || a.id - b.id);
  let out = '';
  for (const line of lines) out += line.json + '\n';
  return out;
}

// Writes day D's messages as partition files (one per chat day); other days only gain messages.
export async function ingest(ws: Workspace, day: string, ctx: Context, sourceArg?: string) {
  const source = parseSource(sourceArg ?? ws.params.ingest.source, sourceArg ? '--source' : 'params.yaml ingest.source');
  if (source.kind === 'export' || source.kind === 'tsv') source.file = resolveFrom(sourceArg ? process.cwd() : ws.dir, source.file);
  // The spill files a killed import left go now, whatever this run reads.
  await rm(ws.path('.chatcast', 'import'), { recursive: true, force: true });
  if (source.kind === 'mtproto') {
    parseChatRef(ws.params.ingest.chat);
    // GramJS loads only for this source, so the other steps start fast.
    const { connectHistory } = await import('../io/mtproto.js');
    const { history, close } = await connectHistory({ storeText: ws.params.ingest.store_text, maxWaitSeconds: ws.params.ingest.max_wait_seconds });
    try {
      return await ingestFromHistory(ws, day, ctx, history);
    } finally {
      await close();
    }
  }
  if (source.kind === 'export') return ingestExport(ws, day, ctx, source.file);
  // A day-by-day source fills the days since the newest partition too (a catch-up after downtime), so the
  // series never has a gap; the first day of a workspace is just that day.
  const newest = (await partitionDays(ws)).filter((d) => d < day).at(-1);
  const days = newest ? daysFrom(addDays(newest, 1), day) : [day];
  const files: { path: string; data: string }[] = [];
  let count = 0;
  const kinds: Record<string, number> = {};
  for (const d of days) {
    const messages = await readDay(source, d, ws.params, ws.path('.chatcast'));
    count += messages.length;
    for (const m of messages) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    files.push({ path: partitionPath(ws, d), data: formatPartition(messages) });
  }
  const written = await writeFiles(files);
  const file = partitionPath(ws, day);
  ctx.log.info(
    { step: 'ingest', day, source: source.kind, messages: count, kinds, file, days: days.length, changed: written.length > 0 },
    days.length === 1 ? `ingested ${count} messages for ${day}` : `ingested ${count} messages for ${days.length} days (${days[0]} … ${day}, a catch-up)`,
  );
  return { messages: count, days };
}

// `chatcast ingest`
export default defineCommand<StepArgs & { source?: string }>({
  name: 'ingest',
  describe: "Fetch the day's messages into ingest/YYYY-MM/DAY.jsonl (mtproto and export fill every day up to it)",
  args: {
    ...STEP_ARGS,
    source: { type: 'string', describe: 'simulate, mtproto, export:FILE or tsv:FILE (default: params.yaml ingest.source)' },
  },
  async run(args, ctx) {
    const { ws, day, history } = await openStep(args, ctx, { step: 'ingest' });
    if (history) return history;
    return ingest(ws, day, ctx, args.source);
  },
});

import { describe, expect, it } from 'vitest';
import { errors } from 'telegram';
import type { Message } from '../../tasks/core/messages.js';
import { byDay, fetchThrough, mergePartition, parseChatRef, type History } from '../../tasks/core/telegram.js';
import { scriptedHistory } from '../support/history.js';

const msg = (id: number, at: string): Message => ({ id, at, sender: '1', kind: 'text', reply_to: null });

const flood = (seconds: number) => new errors.FloodWaitError({ capture: seconds });

describe('chat references', () => {
  it.each([
    ['@study_chat', { kind: 'username', username: 'study_chat' }],
    ['https://t.me/study_chat', { kind: 'username', username: 'study_chat' }],
    ['-1001234567890', { kind: 'id', id: '-1001234567890' }],
    ['https://t.me/+AbCdEf123_-xyz', { kind: 'invite', hash: 'AbCdEf123_-xyz' }],
    ['t.me/joinchat/AbCdEf123456', { kind: 'invite', hash: 'AbCdEf123456' }],
  ])('%s', (text, ref) => {
    expect(parseChatRef(text)).toEqual(ref);
  });

  it('refuses anything else, quoting it', () => {
    expect(() => parseChatRef('study chat')).toThrow('Invalid params.yaml ingest.chat "study chat": expected @username, a numeric chat id');
    expect(() => parseChatRef('')).toThrow('Invalid params.yaml ingest.chat ""');
  });
});

describe('fetching the history page by page', () => {
  const all = Array.from({ length: 23 }, (_, i) => msg(500 + i * 3, new Date(Date.parse('2024-03-30T20:00:00Z') + i * 15 * 60_000).toISOString().replace('.000Z', 'Z')));
  const endOf30Berlin = Date.parse('2024-03-30T23:00:00Z');

  it('reads every message after the cursor once, oldest first, stopping at the first one of the next chat day', async () => {
    const { history, calls } = scriptedHistory(all);
    const got = await fetchThrough(history, 'c', 499, endOf30Berlin, { pageSize: 5, maxWaitSeconds: 60, sleep: async () => {} });
    const expected = all.filter((m) => Date.parse(m.at) < endOf30Berlin);
    expect(got.messages).toEqual(expected);
    expect(new Set(got.messages.map((m) => m.id)).size).toBe(got.messages.length);
    expect(calls.map((c) => c.afterId)).toEqual([499, 512, 527]); // each page starts after the last id seen
  });

  it('sleeps through a short FLOOD_WAIT and carries on without a gap', async () => {
    const slept: number[] = [];
    const { history, calls } = scriptedHistory(all, { 2: flood(7) });
    const got = await fetchThrough(history, 'c', 499, Date.parse('2024-04-01T00:00:00Z'), { pageSize: 10, maxWaitSeconds: 60, sleep: async (ms) => void slept.push(ms) });
    expect(got.messages).toEqual(all);
    expect(slept).toEqual([7000]);
    expect(got.waitedSeconds).toBe(7);
    expect(calls.map((c) => c.afterId)).toEqual([499, 527, 527, 557, 566]);
  });

  it('fails a long FLOOD_WAIT with a retryable error', async () => {
    const { history } = scriptedHistory(all, { 1: flood(3600) });
    await expect(fetchThrough(history, 'c', 0, Date.now(), { pageSize: 10, maxWaitSeconds: 120, sleep: async () => {} })).rejects.toMatchObject({
      code: 'EXTERNAL',
      exitCode: 7,
      message: expect.stringContaining('Telegram asks to wait 3600 s before reading more history (FLOOD_WAIT), longer than ingest.max_wait_seconds = 120'),
    });
  });

  it('bounds the FLOOD_WAIT sleeping of one fetch in all, so the task never times out asleep', async () => {
    const slept: number[] = [];
    const { history } = scriptedHistory(all, { 1: flood(50), 2: flood(50), 3: flood(50) });
    await expect(
      fetchThrough(history, 'c', 499, Date.parse('2024-04-01T00:00:00Z'), { pageSize: 10, maxWaitSeconds: 60, maxTotalWaitSeconds: 120, sleep: async (ms) => void slept.push(ms) }),
    ).rejects.toMatchObject({
      code: 'EXTERNAL',
      message: expect.stringContaining('Telegram asks to wait 50 s more before reading more history (FLOOD_WAIT), after 100 s of waiting in this run; together more than 120 s ($CHATCAST_FLOOD_WAIT_MAX_SECONDS)'),
    });
    expect(slept).toEqual([50_000, 50_000]);
  });

  it('refuses a page whose ids do not grow (a duplicate would be counted twice)', async () => {
    const history: History = { ...scriptedHistory(all).history, after: async () => [msg(10, '2024-03-30T20:00:00Z'), msg(9, '2024-03-30T20:01:00Z')] };
    await expect(fetchThrough(history, 'c', 0, Date.now(), { pageSize: 10, maxWaitSeconds: 0, sleep: async () => {} })).rejects.toThrow(
      'Telegram returned message id 9 after id 10: expected ids that only grow',
    );
  });
});

describe('partitions', () => {
  it('group by chat day and merge by id, stored copies winning', () => {
    const days = byDay([msg(1, '2024-03-30T22:59:59Z'), msg(2, '2024-03-30T23:00:00Z')], 'Europe/Berlin');
    expect([...days.keys()]).toEqual(['2024-03-30', '2024-03-31']);
    const stored = [{ ...msg(1, '2024-03-30T10:00:00Z'), kind: 'photo' as const }];
    expect(mergePartition(stored, [msg(2, '2024-03-30T11:00:00Z'), msg(1, '2024-03-30T10:00:00Z')])).toEqual([stored[0], msg(2, '2024-03-30T11:00:00Z')]);
  });
});

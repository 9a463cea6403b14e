import { describe, expect, it } from 'vitest';
import { EARLIEST_MESSAGE_MS, exportEdited, exportMessage, mergeRepeat, type ExportEntry } from '../../tasks/core/export.js';

const NOW = Date.parse('2024-04-02T12:00:00Z');
const item = (fields: Record<string, unknown>) => ({ id: 123, type: 'message', date: '2024-03-29T10:01:10', date_unixtime: '1711702870', from_id: 'user111', text: 'hi', ...fields });
const read = (fields: Record<string, unknown>, index = 5) => exportMessage(item(fields), index, 'result.json', true, NOW);

describe('export message dates', () => {
  it('accepts a time from the day Telegram opened up to now', () => {
    expect(read({}).at).toBe('2024-03-29T09:01:10Z');
    expect(read({ date_unixtime: String(EARLIEST_MESSAGE_MS / 1000) }).at).toBe('2013-08-14T00:00:00Z');
    expect(read({ date_unixtime: String(NOW / 1000) }).at).toBe('2024-04-02T12:00:00Z');
  });

  it.each([
    ['before Telegram existed', '0', 'Invalid date 1970-01-01T00:00:00Z (date_unixtime "0") of message 123 in result.json messages[5]: expected a time between 2013-08-14 and now (2024-04-02T12:00:00Z)'],
    ['a day before Telegram opened', '1376351999', 'Invalid date 2013-08-12T23:59:59Z (date_unixtime "1376351999") of message 123 in result.json messages[5]: expected a time between 2013-08-14 and now'],
    ['in the future', '1893456000', 'Invalid date 2030-01-01T00:00:00Z (date_unixtime "1893456000") of message 123 in result.json messages[5]: expected a time between 2013-08-14 and now'],
    ['unparseable', '2024-03-29', 'Invalid result.json messages[5].date_unixtime "2024-03-29": expected Unix seconds as a string (exports from Telegram Desktop 3.0 or newer have it) for message 123'],
  ])('refuses a date %s (INPUT), naming the file, the message id, the date and the rule', (_what, unix, message) => {
    let error: unknown;
    try {
      read({ date_unixtime: unix });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INPUT', exitCode: 4 });
    expect((error as Error).message).toContain(message);
  });

  it('allows ten minutes of clock difference past now', () => {
    expect(read({ date_unixtime: String(NOW / 1000 + 300) }).at).toBe('2024-04-02T12:05:00Z');
    expect(() => read({ date_unixtime: String(NOW / 1000 + 3600) })).toThrow('expected a time between 2013-08-14 and now');
  });
});

describe('repeated ids in one export', () => {
  const entry = (fields: Record<string, unknown>, index: number): ExportEntry => ({ message: read(fields, index), index, edited: exportEdited(item(fields)) });

  it('keep one copy of the same message, the newer edit (else the later copy)', () => {
    const first = entry({}, 3);
    expect(mergeRepeat(first, entry({}, 9), 'result.json').index).toBe(9);
    const edited = entry({ text: 'hi (edited)', edited_unixtime: '1711703000' }, 4);
    expect(mergeRepeat(edited, entry({}, 9), 'result.json').message.text).toBe('hi (edited)');
    expect(mergeRepeat(first, edited, 'result.json').message.text).toBe('hi (edited)');
  });

  it('refuse two different messages under one id (INPUT), naming both items', () => {
    expect(() => mergeRepeat(entry({}, 3), entry({ date_unixtime: '1711706470' }, 9), 'result.json')).toThrow(
      'Invalid result.json: messages[3] and messages[9] both have id 123 but were sent at 2024-03-29T09:01:10Z and at 2024-03-29T10:01:10Z: expected one message per id',
    );
    expect(() => mergeRepeat(entry({}, 3), entry({ from_id: 'user222' }, 9), 'result.json')).toThrow('both have id 123 but were sent by 111 and by 222');
  });
});

describe('export message instants', () => {
  // exportMessage remembers the date part of the last instant (millions of messages, few days): every
  // instant must still read as toISOString says, in any order, across midnights and years.
  it('gives the ISO instant of date_unixtime for instants in and out of order', () => {
    const seconds = [1711702870, 1711702870 + 1, 1711670399, 1711670400, 1376438400, 1704067199, 1704067200, 1711702870 - 86_400 * 400, NOW / 1000];
    for (let i = 0; i < 200; i++) seconds.push(1376438400 + Math.floor(((i * 2654435761) % 4294967296) / 4294967296 * (NOW / 1000 - 1376438400)));
    for (const unix of seconds) {
      expect(read({ date_unixtime: String(unix) }).at).toBe(new Date(unix * 1000).toISOString().replace('.000Z', 'Z'));
    }
  });
});

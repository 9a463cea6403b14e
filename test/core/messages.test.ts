import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { formatPartition, parseMessagesTsv, parsePartition, tsvRecordMessage } from '../../tasks/core/messages.js';
import { FIXTURES } from '../helpers.js';

const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('the original all_messages.csv', () => {
  it('parses quoted multi-line texts with tabs and doubled quotes, and keeps media-only rows', () => {
    const messages = parseMessagesTsv(read('messages-small.tsv'), 'messages-small.tsv', true);
    expect(messages).toHaveLength(6);
    expect(messages[1]).toEqual({
      id: null,
      at: '2024-03-30T23:05:10Z',
      sender: '2',
      kind: 'text',
      reply_to: null,
      text: 'две\nстроки с "кавычками" и\ttab',
    });
    expect(messages[2].kind).toBe('media');
    expect(parseMessagesTsv(read('messages-small.tsv'), 'x', false)[1]).not.toHaveProperty('text');
  });

  it('names the line of a bad datetime, counting the lines of multi-line texts', () => {
    expect(() => parseMessagesTsv(read('messages-bad-date.tsv'), 'bad.tsv')).toThrow(
      'Invalid bad.tsv line 5: datetime "2024-02-30 10:00:00+00:00": expected YYYY-MM-DD HH:MM:SS+00:00',
    );
  });

  it('names the line of an unclosed quote', () => {
    expect(() => parseMessagesTsv(read('messages-bad-quote.tsv'), 'quote.tsv')).toThrow(/^Invalid quote\.tsv line 4: Quote Not Closed/);
  });

  it('refuses a file with another header', () => {
    expect(() => parseMessagesTsv('time\tuser\n1\t2\n', 'other.tsv')).toThrow(
      'Invalid other.tsv line 1: header "time\\tuser": expected "datetime\\tuser_id\\ttext"',
    );
  });

  it('round-trips a partition byte for byte, in time order', () => {
    const messages = parseMessagesTsv(read('messages-small.tsv'), 'x', true);
    const text = formatPartition([...messages].reverse());
    expect(parsePartition(text, 'p')).toEqual(messages);
    expect(formatPartition(parsePartition(text, 'p'))).toBe(text);
  });

  // The TSV reader computes the usual datetime shape itself (luxon's fromFormat is too slow for millions
  // of rows); what it accepts and the instant it gives must stay luxon's, the rule the files were read by.
  it.each([
    '2024-03-30 22:15:00+00:00', '2024-02-29 23:59:59+05:45', '2023-02-29 10:00:00+00:00', '2024-02-30 10:00:00+00:00',
    '2024-12-31 23:30:00-03:30', '2024-01-01 00:00:00+14:00', '2024-01-01 00:00:00-12:00', '2024-01-01 00:00:00+15:00',
    '2024-06-01 24:00:00+00:00', '2024-06-01 23:60:00+00:00', '2024-06-01 23:00:60+00:00', '2024-13-01 10:00:00+00:00',
    '2024-00-10 10:00:00+00:00', '2024-04-31 10:00:00+00:00', '1000-01-01 00:00:00+01:00', '9999-12-31 23:00:00-02:00',
    '2024-06-01 10:00:00+0000', '2024-06-01 10:00:00+3:00', '2024-06-01T10:00:00+00:00', '2024-06-01 10:00:00Z', ' 2024-06-01 10:00:00+00:00',
  ])('reads datetime %j as luxon does', (datetime) => {
    const at = DateTime.fromFormat(datetime, 'yyyy-MM-dd HH:mm:ssZZ', { setZone: true });
    const read = () => tsvRecordMessage([datetime, '1', 'x'], 7, 'f.tsv', false).at;
    if (at.isValid) expect(read()).toBe(at.toUTC().toISO({ suppressMilliseconds: true }));
    else expect(read).toThrow(`Invalid f.tsv line 7: datetime "${datetime}": expected YYYY-MM-DD HH:MM:SS+00:00`);
  });
});

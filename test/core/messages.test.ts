import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPartition, parseMessagesTsv, parsePartition } from '../../tasks/core/messages.js';
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
});

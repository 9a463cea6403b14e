import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { ChatcastError } from './errors.js';

// The project's tables on disk: tab-separated, header first, one newline at the end.
export function formatTsv(table: ColumnTable, columns: readonly string[]): string {
  return table.select(...columns).toCSV({ delimiter: '\t' });
}

// Reads a table written by formatTsv; text stays text unless `parse` names a column's parser.
export function parseTsv(
  content: string,
  file: string,
  columns: readonly string[],
  parse: Record<string, (value: string) => unknown>,
  rules: Record<string, { pattern: RegExp; rule: string }> = {},
): ColumnTable {
  const header = content.slice(0, content.indexOf('\n'));
  if (header !== columns.join('\t')) {
    throw new ChatcastError('STATE', `Invalid ${file}: header "${header}": expected "${columns.join('\\t')}"`);
  }
  // Values a parser would turn into NaN or worse are named with their line before anything reads them.
  const checked = Object.entries(rules).map(([column, rule]) => ({ index: columns.indexOf(column), column, ...rule }));
  if (checked.length > 0) {
    const lines = content.split('\n');
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === '') continue;
      const cells = lines[i].split('\t');
      for (const { index, column, pattern, rule } of checked) {
        if (!pattern.test(cells[index] ?? '')) {
          throw new ChatcastError('STATE', `Invalid ${file} line ${i + 1}: ${column} "${cells[index] ?? ''}": ${rule}`);
        }
      }
    }
  }
  return aq.fromCSV(content.replace(/\n+$/, '\n'), { delimiter: '\t', autoType: false, parse });
}

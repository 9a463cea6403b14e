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
): ColumnTable {
  const header = content.slice(0, content.indexOf('\n'));
  if (header !== columns.join('\t')) {
    throw new ChatcastError('STATE', `Invalid ${file}: header "${header}": expected "${columns.join('\\t')}"`);
  }
  return aq.fromCSV(content.replace(/\n+$/, '\n'), { delimiter: '\t', autoType: false, parse });
}

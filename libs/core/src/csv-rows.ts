import { StringDecoder } from 'node:string_decoder';
import { CsvReader, type CsvRow } from './csv-reader.js';

export type { CsvRow } from './csv-reader.js';

/**
 * Parses CSV byte chunks into rows, in batches (one per chunk) so that the caller pays for
 * one await per chunk, not per row. Blank rows are skipped (their lines still counted). On
 * bad CSV the rows before it come first, then the InputError naming the row it is in.
 */
export async function* csvRows(chunks: AsyncIterable<Buffer>, source: string): AsyncGenerator<CsvRow[]> {
  const reader = new CsvReader(source);
  // chunks may cut a character in two: the decoder keeps its first bytes for the next one
  const decoder = new StringDecoder('utf8');
  for await (const chunk of chunks) {
    const rows: CsvRow[] = [];
    const err = tryRead(() => reader.read(decoder.write(chunk), rows));
    if (rows.length > 0) yield rows;
    if (err) throw err;
  }
  const rows: CsvRow[] = [];
  const err = tryRead(() => {
    reader.read(decoder.end(), rows);
    reader.end(rows);
  });
  if (rows.length > 0) yield rows;
  if (err) throw err;
}

/**
 * The id `--auto-id` gives a suite CSV row without one (no id column, or an empty cell):
 * capi-split names its records so and `capi-merge --suite` its expected ids, so the two meet.
 */
export function autoIdOf(line: number): string {
  return `row-${line}`;
}

function tryRead(read: () => void): unknown {
  try {
    read();
    return null;
  } catch (err) {
    return err;
  }
}

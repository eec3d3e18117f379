import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '@capi/core';
import { CsvError, type Parser, parse } from 'csv-parse';

/** One CSV record and the line it starts on (1 = the first line of the file). */
export interface CsvRow {
  cells: string[];
  line: number;
}

/**
 * Parses CSV byte chunks into rows, in batches (one per parsed chunk) so that the caller
 * pays for one await per chunk, not per row. Blank rows (every cell empty or spaces) are
 * skipped. Line numbers are counted here rather than taken from csv-parse: its `info.lines`
 * counts a quoted `\r\n` and a blank CRLF line twice, and `info`/`on_record` halve its speed.
 */
export async function* csvRows(chunks: AsyncIterable<Buffer>, source: string): AsyncGenerator<CsvRow[]> {
  // relax_column_count: a row with the wrong number of cells is a row error (skippable
  // with --lenient), not a fatal parser error.
  const parser = parse({ relax_column_count: true });
  const feeding = pipeline(Readable.from(chunks), parser).catch(() => {});
  let line = 1;
  try {
    for await (const records of drainThenThrow(parser)) {
      const rows: CsvRow[] = [];
      for (const cells of records) {
        if (!isBlank(cells)) rows.push({ cells, line });
        line += 1 + newlinesIn(cells);
      }
      if (rows.length > 0) yield rows;
    }
  } catch (err) {
    throw asInputError(err, source, line);
  } finally {
    parser.destroy();
    await feeding;
  }
}

function isBlank(cells: string[]): boolean {
  for (const cell of cells) if (cell.trim() !== '') return false;
  return true;
}

function newlinesIn(cells: string[]): number {
  let n = 0;
  for (const cell of cells) {
    for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) n++;
  }
  return n;
}

/**
 * Reads every record the parser has buffered before giving up on its error. Node's own
 * async iterator stops at the error and drops them, and then the line count is behind.
 */
async function* drainThenThrow(parser: Parser): AsyncGenerator<string[][]> {
  let error: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  parser.on('error', (err) => {
    error = err;
    notify();
  });
  for (;;) {
    const batch: string[][] = [];
    for (let record = parser.read(); record !== null; record = parser.read()) batch.push(record);
    if (batch.length > 0) {
      // A 'readable' that fired while the caller had the batch is not waited for again.
      yield batch;
      continue;
    }
    if (error) throw error;
    if (ended) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

const CSV_MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'unterminated quote: a quoted field that opens in this row is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'malformed CSV: a quote inside an unquoted field, or text right after a closing quote',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'malformed CSV: text right after a closing quote',
  // csv-parse 7 names this one without the CSV_ prefix.
  INVALID_OPENING_QUOTE: 'malformed CSV: a quote inside an unquoted field (double it, and quote the field)',
};

/** csv-parse reports where it noticed the problem; capi names the row it is in. */
function asInputError(err: unknown, source: string, line: number): unknown {
  if (!(err instanceof CsvError)) return err;
  const text = CSV_MESSAGES[err.code] ?? `malformed CSV: ${err.message.charAt(0).toLowerCase()}${err.message.slice(1)}`;
  return new InputError(source, line, text);
}

import {
  autoIdOf,
  csvRows,
  EMPTY_SUITE,
  enabledValue,
  flowPhaseValue,
  InputError,
  readNdjson,
  sniffSuite,
  suiteOrder,
  tagsCellValue,
  utf8Chunks,
  ValueError,
  validateTestRecord,
} from '@capi/core';
import { foldTestLine, scanTestLine } from './fast-test-line.js';
import { addExpected, type ExpectedTest, type MergeState } from './merge-state.js';
import { type Reader, readLineBytes, withFile } from './read-results.js';

/**
 * The ids a suite names, from the suite CSV itself or capi-split's test records (NDJSON).
 * The format comes from the content, as in capi-split: a file's name says nothing (a
 * `suite.txt` may be either).
 */
export async function* readSuite(
  input: AsyncIterable<Buffer>,
  label: string,
  autoId = false,
): AsyncGenerator<ExpectedTest> {
  // Test records carry their ids: `autoId` is the CSV's.
  const { format, chunks } = await sniffSuite(input);
  // as capi-split: a suite with nothing in it is refused, not read as one without tests
  if (format === null) throw new InputError(label, 1, EMPTY_SUITE);
  // as capi-split, by core's one rule: setup rows first, a flow's rows together
  const order = suiteOrder();
  for await (const t of format === 'csv' ? suiteCsv(chunks, label, autoId) : suiteNdjson(chunks, label, null)) {
    try {
      order.check(t);
    } catch (err) {
      if (err instanceof ValueError) throw new InputError(label, t.line, `field "${err.field}": ${err.message}`);
      throw err;
    }
    order.learn(t, t.line ?? 0);
    yield t;
  }
}

/**
 * A run folder's batch file: capi-split's test records, each id belonging to `batch`,
 * added to the state's expected ids as each line is read. Cut into lines as the result
 * journals are (read-results.ts: no async step per line, short-lived strings), and a line
 * of capi-split's own shape folded from its bytes (fast-test-line.ts): a launched run's
 * merge reads as many test records as results. `fast` false reads every line as text
 * (the tests compare both ways).
 */
export async function readBatchFile(
  path: string,
  label: string,
  batch: string | null,
  state: MergeState,
  fast = true,
): Promise<void> {
  await withFile(path, (read) => readBatchBytes(read, label, batch, state, fast));
}

/** readBatchFile's reading, from any reader (tests feed bytes in pieces). */
export function readBatchBytes(
  read: Reader,
  label: string,
  batch: string | null,
  state: MergeState,
  fast = true,
): Promise<void> {
  let code = -1;
  const batchCode = () => {
    if (code < 0) code = state.tests.batchPool.code(batch);
    return code;
  };
  const take = (text: string, line: number) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(label, line, `malformed JSON: ${(err as Error).message}`);
    }
    addExpected(state, expectedOf(value, label, line, batch));
  };
  return readLineBytes(
    read,
    label,
    take,
    {},
    fast ? { scan: scanTestLine, fold: (src) => foldTestLine(state, src, batchCode) } : undefined,
  );
}

/** Why a record is not a test record; the common mix-up (a result file as the suite) is named. */
function testRecordProblem(value: unknown): string | null {
  const problem = validateTestRecord(value);
  if (problem === null) return null;
  const v = value as Record<string, unknown> | null;
  const looksLikeResult = v !== null && typeof v === 'object' && 'status' in v && !('request' in v);
  return looksLikeResult
    ? `${problem}: this looks like a result record from capi-exec, not a test record (a suite is the CSV or capi-split's output)`
    : problem;
}

async function* suiteNdjson(
  input: AsyncIterable<Buffer | string>,
  label: string,
  batch: string | null,
): AsyncGenerator<ExpectedTest> {
  for await (const { value, line } of readNdjson(input, { source: label })) yield expectedOf(value, label, line, batch);
}

/** A test record's id and what the reports show of it; bad input is an InputError naming the line. */
function expectedOf(value: unknown, label: string, line: number, batch: string | null): ExpectedTest {
  const problem = testRecordProblem(value);
  if (problem) throw new InputError(label, line, problem);
  const v = value as { id: string; name?: string; tags?: string[]; enabled?: boolean; flow?: string; phase?: string };
  return {
    id: v.id,
    line,
    name: v.name ?? v.id,
    tags: v.tags ?? [],
    enabled: v.enabled ?? true,
    batch,
    flow: v.flow ?? null,
    phase: v.phase ?? null,
  };
}

/** Where the columns capi-merge reads sit in a suite CSV row (-1: absent). */
interface SuiteColumns {
  id: number;
  name: number;
  tags: number;
  enabled: number;
  flow: number;
  phase: number;
  width: number;
}

/**
 * The suite CSV, read as capi-split reads it: core's reader (csv-reader.ts, the same quoting,
 * line counting and UTF-8 check) and core's cell rules for the columns the reports use
 * (tags, enabled, flow and phase), so a suite capi-split refuses is refused here too and one
 * it splits is read alike. Only the columns capi-merge needs are looked at.
 */
async function* suiteCsv(input: AsyncIterable<Buffer>, label: string, autoId: boolean): AsyncGenerator<ExpectedTest> {
  let columns: SuiteColumns | null = null;
  for await (const rows of csvRows(utf8Chunks(input, label), label))
    for (const { cells, line } of rows) {
      if (columns === null) columns = suiteColumns(cells, label, line, autoId);
      else yield expectedOfRow(cells, line, columns, label, autoId);
    }
}

function suiteColumns(cells: string[], label: string, line: number, autoId: boolean): SuiteColumns {
  const seen = new Map<string, number>();
  cells.forEach((cell, index) => {
    const name = cell.trim();
    const key = name.toLowerCase();
    const first = seen.get(key);
    // as capi-split: the second of two columns would silently win
    if (first !== undefined && name !== '')
      throw new InputError(label, line, `header: column "${name}" named twice (columns ${first + 1} and ${index + 1})`);
    seen.set(key, index);
  });
  if (!seen.has('id') && !autoId)
    throw new InputError(
      label,
      line,
      'field "id": the suite has no id column (with --auto-id its rows are row-<line>, as capi-split --auto-id names them)',
    );
  const at = (name: string) => seen.get(name) ?? -1;
  return {
    id: at('id'),
    name: at('name'),
    tags: at('tags'),
    enabled: at('enabled'),
    flow: at('flow'),
    phase: at('phase'),
    width: cells.length,
  };
}

function expectedOfRow(cells: string[], line: number, at: SuiteColumns, label: string, autoId: boolean): ExpectedTest {
  if (cells.length !== at.width)
    throw new InputError(label, line, `row has ${cells.length} cells, the header has ${at.width}`);
  const cell = (i: number) => (i < 0 ? '' : (cells[i] ?? ''));
  const id = cell(at.id).trim() || (autoId ? autoIdOf(line) : '');
  if (id === '')
    throw new InputError(
      label,
      line,
      'field "id": empty (with --auto-id such a row is row-<line>, as capi-split --auto-id names it)',
    );
  const value = <T>(field: string, read: () => T): T => {
    try {
      return read();
    } catch (err) {
      if (err instanceof ValueError) throw new InputError(label, line, `field "${err.field ?? field}": ${err.message}`);
      throw err;
    }
  };
  const { flow, phase } = value('flow', () => flowPhaseValue(cell(at.flow), cell(at.phase)));
  return {
    id,
    line,
    // as capi-split's records: the name as written, the id when there is none
    name: cell(at.name) || id,
    tags: tagsCellValue(cell(at.tags)),
    enabled: value('enabled', () => enabledValue(cell(at.enabled))),
    batch: null,
    flow,
    phase,
  };
}

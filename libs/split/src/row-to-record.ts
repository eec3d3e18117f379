import { autoIdOf, type Capture, type HttpMethod, type Phase, type TestRecord } from '@capi/core';
import { cellCache } from './cell-cache.js';
import {
  checkExpectBody,
  checkExpectJson,
  FieldError,
  parseCapture,
  parseEnabled,
  parseExpectStatus,
  parseFlowPhase,
  parseMethod,
  parseTags,
  parseWholeNumber,
} from './cell-values.js';
import { type ColumnMap, KNOWN_COLUMNS, type KnownColumn } from './columns.js';
import { parseHeadersCell } from './headers-cell.js';

/** Builds records from the rows of one suite; the caches live as long as the suite. */
export type RowConverter = (cells: string[], line: number) => TestRecord;

/**
 * Turns CSV rows into test records (docs/formats.md). Text cells stay exactly as written;
 * id, url, method, numbers, tags, enabled and expect_status are trimmed, since spaces
 * around them are never meant. Throws FieldError naming the bad column.
 */
export function rowConverter(map: ColumnMap, file: string, autoId = false): RowConverter {
  const at = {} as Record<KnownColumn, number>;
  for (const column of KNOWN_COLUMNS) at[column] = map.known[column] ?? -1;
  const method = cellCache<HttpMethod>(parseMethod);
  const status = cellCache(parseExpectStatus);
  const enabled = cellCache(parseEnabled);
  const tags = cellCache(parseTags);
  const headers = cellCache(parseHeadersCell);
  const json = cellCache(checkExpectJson);
  const capture = cellCache(parseCapture);
  return (cells, line) => {
    if (cells.length !== map.width)
      throw new FieldError(null, `row has ${cells.length} cells, the header has ${map.width}`);
    // an absent column (-1) gives '' without reading cells[-1]: V8 looks a negative index up
    // as a named property, along the prototype chain (about 0.3 s over 1,000,000 rows)
    const cell = (column: KnownColumn): string => {
      const i = at[column];
      return i < 0 ? '' : (cells[i] ?? '');
    };
    const id = cell('id').trim() || (autoId ? autoIdOf(line) : '');
    if (id === '') throw new FieldError('id', 'missing (every row needs an id, or use --auto-id)');
    const url = cell('url').trim();
    if (url === '') throw new FieldError('url', 'missing');
    const record: TestRecord = {
      id,
      name: cell('name') || id,
      seq: 0,
      request: {
        method: method(cell('method')),
        url,
        headers: { ...headers(cell('headers')) },
        body: cell('body') || null,
      },
      expect: {
        status: status(cell('expect_status')),
        body: checkExpectBody(cell('expect_body')),
        json: json(cell('expect_json')),
        maxMs: parseWholeNumber('max_ms', cell('max_ms')),
      },
      timeoutMs: parseWholeNumber('timeout_ms', cell('timeout_ms')),
      tags: tags(cell('tags')).slice(),
      enabled: enabled(cell('enabled')),
      vars: varsOf(cells, map),
      source: { file, line },
    };
    return withFlowFields(record, capture(cell('capture')), parseFlowPhase(cell('flow'), cell('phase')));
  };
}

/** The flow fields are set only when given, so a suite without them gives the records it always gave. */
function withFlowFields(
  record: TestRecord,
  capture: readonly Capture[],
  { flow, phase }: { flow: string | null; phase: Phase | null },
): TestRecord {
  if (capture.length > 0) record.capture = capture.map((c) => ({ ...c }));
  if (flow !== null) record.flow = flow;
  if (phase !== null) record.phase = phase;
  return record;
}

function varsOf(cells: string[], map: ColumnMap): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const { name, index } of map.vars) {
    const value = cells[index] ?? '';
    // `vars.__proto__ = 'x'` would set the prototype (or do nothing) and drop the column
    if (name === '__proto__')
      Object.defineProperty(vars, name, { value, enumerable: true, writable: true, configurable: true });
    else vars[name] = value;
  }
  return vars;
}

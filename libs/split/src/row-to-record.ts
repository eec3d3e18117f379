import type { TestRecord } from '@capi/core';
import {
  checkExpectBody,
  FieldError,
  parseEnabled,
  parseExpectStatus,
  parseJsonCell,
  parseMethod,
  parseTags,
  parseWholeNumber,
} from './cell-values.js';
import type { ColumnMap, KnownColumn } from './columns.js';
import { parseHeadersCell } from './headers-cell.js';

/**
 * Turns one CSV row into a test record (docs/formats.md). Text cells stay exactly as
 * written; id, url, method, numbers, tags, enabled and expect_status are trimmed, since
 * spaces around them are never meant. Throws FieldError naming the bad column.
 */
export function rowToRecord(cells: string[], line: number, map: ColumnMap, file: string, autoId = false): TestRecord {
  if (cells.length !== map.width)
    throw new FieldError(null, `row has ${cells.length} cells, the header has ${map.width}`);
  const cell = (column: KnownColumn): string | undefined => {
    const index = map.known[column];
    return index === undefined ? undefined : cells[index];
  };
  const id = (cell('id') ?? '').trim() || (autoId ? `row-${line}` : '');
  if (id === '') throw new FieldError('id', 'missing (every row needs an id, or use --auto-id)');
  const url = (cell('url') ?? '').trim();
  if (url === '') throw new FieldError('url', 'missing');
  const expectJson = cell('expect_json') || null;
  if (expectJson !== null) parseJsonCell('expect_json', expectJson);
  return {
    id,
    name: cell('name') || id,
    seq: 0,
    request: {
      method: parseMethod(cell('method')),
      url,
      headers: parseHeadersCell(cell('headers')),
      body: cell('body') || null,
    },
    expect: {
      status: parseExpectStatus(cell('expect_status')),
      body: checkExpectBody(cell('expect_body')),
      json: expectJson,
      maxMs: parseWholeNumber('max_ms', cell('max_ms')),
    },
    timeoutMs: parseWholeNumber('timeout_ms', cell('timeout_ms')),
    tags: parseTags(cell('tags')),
    enabled: parseEnabled(cell('enabled')),
    vars: varsOf(cells, map),
    source: { file, line },
  };
}

function varsOf(cells: string[], map: ColumnMap): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const { name, index } of map.vars) vars[name] = cells[index] ?? '';
  return vars;
}

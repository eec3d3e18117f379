import {
  bodyValue,
  type Capture,
  captureCellValue,
  enabledValue,
  flowPhaseValue,
  type HttpMethod,
  jsonTextValue,
  methodValue,
  millisValue,
  type Phase,
  statusValue,
  tagsCellValue,
  templatedJson,
  ValueError,
} from '@capi/core';

/**
 * Parsers for the cells that are more than text. The rules themselves are core's (shared
 * with NDJSON test records, so both inputs are checked alike); here each cell gets its
 * column's name. Each returns the value, or throws a FieldError that names the column; the
 * caller adds the file and line.
 */
export class FieldError extends Error {
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(field === null ? message : `field "${field}": ${message}`);
    this.name = 'FieldError';
  }
}

/** Runs a core value rule, naming the column in its complaint. */
function inColumn<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ValueError) throw new FieldError(err.field ?? field, err.message);
    throw err;
  }
}

/** Any case; empty is GET. */
export function parseMethod(cell: string | undefined): HttpMethod {
  const text = cell ?? '';
  return text.trim() === '' ? 'GET' : inColumn('method', () => methodValue(text));
}

/** `max_ms`, `timeout_ms`: a whole number of milliseconds, or empty for none. */
export function parseWholeNumber(field: string, cell: string | undefined): number | null {
  return inColumn(field, () => millisValue(cell ?? ''));
}

export function parseEnabled(cell: string | undefined): boolean {
  return inColumn('enabled', () => enabledValue(cell ?? ''));
}

export function parseTags(cell: string | undefined): string[] {
  return tagsCellValue(cell ?? '');
}

/** `200`, `2xx`, `200,201,204`, `2xx,404`; empty means `2xx`. */
export function parseExpectStatus(cell: string | undefined): string {
  return inColumn('expect_status', () => statusValue(cell ?? ''));
}

/** `expect_body` stays as written; a `/regex/flags` form must compile, so the error shows up here. */
export function checkExpectBody(cell: string | undefined): string | null {
  return inColumn('expect_body', () => bodyValue(cell ?? ''));
}

/** `expect_json` stays as text; it must be JSON, templates read as values. Empty is none. */
export function checkExpectJson(cell: string | undefined): string | null {
  return inColumn('expect_json', () => jsonTextValue(cell ?? ''));
}

/**
 * Checks that a cell is JSON, reading each `{{template}}` as a value, since templates are
 * expanded later by capi-exec (`{"id": {{id}}}` is fine). Returns the parsed value.
 */
export function parseJsonCell(field: string, text: string): unknown {
  return inColumn(field, () => templatedJson(text));
}

/** `capture`: `name=source` pairs separated by `;` (docs/formats.md "Flows"). */
export function parseCapture(cell: string | undefined): Capture[] {
  return inColumn('capture', () => captureCellValue(cell ?? ''));
}

/** `flow` and `phase` together: a setup or teardown row has no flow. */
export function parseFlowPhase(
  flowCell: string | undefined,
  phaseCell: string | undefined,
): { flow: string | null; phase: Phase | null } {
  return inColumn('flow', () => flowPhaseValue(flowCell ?? '', phaseCell ?? ''));
}

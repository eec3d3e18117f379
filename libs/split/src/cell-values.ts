import { HTTP_METHODS, type HttpMethod } from '@capi/core';

/**
 * Parsers for the cells that are more than text. Each returns the value, or throws a
 * FieldError that names the column; the caller adds the file and line.
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

export function parseMethod(cell: string | undefined): HttpMethod {
  const text = (cell ?? '').trim();
  if (text === '') return 'GET';
  const upper = text.toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(upper))
    throw new FieldError(
      'method',
      `unknown method ${JSON.stringify(text)} (expected one of ${HTTP_METHODS.join(', ')})`,
    );
  return upper as HttpMethod;
}

/** `max_ms`, `timeout_ms`: a whole number of milliseconds, or empty for none. */
export function parseWholeNumber(field: string, cell: string | undefined): number | null {
  const text = (cell ?? '').trim();
  if (text === '') return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new FieldError(field, `must be a whole number of milliseconds (got ${JSON.stringify(text)})`);
  return n;
}

const ENABLED: Record<string, boolean> = { yes: true, true: true, '1': true, on: true };
const DISABLED: Record<string, boolean> = { no: true, false: true, '0': true, off: true };

export function parseEnabled(cell: string | undefined): boolean {
  const text = (cell ?? '').trim().toLowerCase();
  if (text === '' || ENABLED[text]) return true;
  if (DISABLED[text]) return false;
  throw new FieldError('enabled', `expected yes/no, true/false, 1/0 or on/off (got ${JSON.stringify(cell)})`);
}

export function parseTags(cell: string | undefined): string[] {
  if (!cell) return [];
  const tags: string[] = [];
  for (const part of cell.split(';')) {
    const tag = part.trim();
    if (tag !== '' && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

const STATUS_PART = /^(?:[1-5]\d\d|[1-5]xx)$/i;

/** `200`, `2xx`, `200,201,204`, `2xx,404`; empty means `2xx`. */
export function parseExpectStatus(cell: string | undefined): string {
  const text = (cell ?? '').trim();
  if (text === '') return '2xx';
  const parts = text.split(',').map((p) => p.trim());
  if (!parts.every((p) => STATUS_PART.test(p)))
    throw new FieldError(
      'expect_status',
      `expected a code like 200, a class like 2xx, or a list (got ${JSON.stringify(text)})`,
    );
  return parts.join(',').toLowerCase();
}

/** `expect_body` stays as written; a `/regex/flags` form must compile, so the error shows up here. */
export function checkExpectBody(cell: string | undefined): string | null {
  if (cell === undefined || cell === '') return null;
  const m = /^\/(.*)\/([a-z]*)$/s.exec(cell);
  if (m) {
    try {
      new RegExp(m[1] as string, m[2]);
    } catch (err) {
      throw new FieldError('expect_body', `bad regular expression: ${(err as Error).message}`);
    }
  }
  return cell;
}

/**
 * Checks that a cell is JSON, reading each `{{template}}` as a value, since templates are
 * expanded later by capi-exec (`{"id": {{id}}}` is fine). Returns the parsed value.
 */
export function parseJsonCell(field: string, text: string): unknown {
  const probe = text.includes('{{') ? text.replace(/\{\{[^{}]*\}\}/g, '0') : text;
  try {
    return JSON.parse(probe);
  } catch (err) {
    throw new FieldError(field, `malformed JSON: ${(err as Error).message}`);
  }
}

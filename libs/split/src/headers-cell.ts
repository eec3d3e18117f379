import { FieldError, parseJsonCell } from './cell-values.js';

/**
 * The `headers` cell: a JSON object (`{"Accept": "text/plain"}`) or `Name: value` lines.
 * Values stay as written (templates included). A header given twice is joined with `, `
 * as HTTP does.
 */
export function parseHeadersCell(cell: string | undefined): Record<string, string> {
  const text = (cell ?? '').trim();
  if (text === '') return {};
  return text.startsWith('{') || text.startsWith('[') ? jsonHeaders(text) : lineHeaders(text);
}

function jsonHeaders(text: string): Record<string, string> {
  const probe = parseJsonCell('headers', text);
  if (typeof probe !== 'object' || probe === null || Array.isArray(probe))
    throw new FieldError('headers', 'must be a JSON object of header names to values');
  // Parsed again without the template probe, so values keep their templates.
  const value = text.includes('{{') ? tryParse(text) : (probe as Record<string, unknown>);
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null)
      throw new FieldError('headers', `header ${JSON.stringify(name)}: value must be text, not an object or array`);
    add(headers, name, String(v));
  }
  return headers;
}

function tryParse(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    // An unquoted template (`{"X-Id": {{id}}}`): quote it so that it stays a template.
    try {
      return JSON.parse(text.replace(/\{\{[^{}]*\}\}/g, (t) => JSON.stringify(t))) as Record<string, unknown>;
    } catch (err) {
      throw new FieldError('headers', `malformed JSON: ${(err as Error).message}`);
    }
  }
}

function lineHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new FieldError('headers', `line ${i + 1} ${JSON.stringify(line)} is not "Name: value" or a JSON object`);
    add(headers, line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  });
  return headers;
}

function add(headers: Record<string, string>, name: string, value: string): void {
  const existing = headers[name];
  headers[name] = existing === undefined ? value : `${existing}, ${value}`;
}

import { type TestRecord, templateNames, unknownTemplateName } from '@capi/core';
import { FieldError } from './cell-values.js';

/** How the fields capi-exec expands templates in are named: CSV columns, or record paths. */
export interface TemplateFields {
  url: string;
  headers: string;
  body: string;
  status: string;
  expectBody: string;
  expectJson: string;
}

export const CSV_FIELDS: TemplateFields = {
  url: 'url',
  headers: 'headers',
  body: 'body',
  status: 'expect_status',
  expectBody: 'expect_body',
  expectJson: 'expect_json',
};

export const NDJSON_FIELDS: TemplateFields = {
  url: 'request.url',
  headers: 'request.headers',
  body: 'request.body',
  status: 'expect.status',
  expectBody: 'expect.body',
  expectJson: 'expect.json',
};

/**
 * The template names in a cell's text, remembered for texts seen before: rows repeat their
 * cells (a header such as `{{region}}` on every row), and matching the pattern anew on each
 * took 0.65 s of a 14 s profile of a million rows. Short texts only (bodies are not
 * cached), and at most SEEN_MAX of them, so the cache stays under a few MB.
 */
const seen = new Map<string, readonly string[]>();
const SEEN_MAX = 4096;
const SEEN_LENGTH = 256;
const NONE: readonly string[] = Object.freeze([]);

function namesIn(text: string): readonly string[] {
  if (!text.includes('{{')) return NONE;
  if (text.length > SEEN_LENGTH) return templateNames(text);
  let names = seen.get(text);
  if (names === undefined) {
    names = Object.freeze(templateNames(text));
    if (seen.size >= SEEN_MAX) seen.clear();
    seen.set(text, names);
  }
  return names;
}

/**
 * Every `{{name}}` the record's expanded fields use must name something (core
 * `unknownTemplateName`): a variable, `id`, `name` or a namespace. Throws FieldError for
 * the first that does not; `use` hears each name that resolved. `vars` is asked for only
 * when a template is found (most rows have none). The fields are taken in the order
 * capi-exec expands them (url, headers, body, status, expected body, expected JSON).
 */
export function checkTemplates(
  rec: TestRecord,
  fields: TemplateFields,
  vars: () => ReadonlySet<string>,
  use?: (name: string) => void,
  explain?: (name: string, problem: string) => string,
): void {
  let known: ReadonlySet<string> | undefined;
  const check = (field: string, text: string | null): void => {
    if (text === null) return;
    for (const name of namesIn(text)) {
      known ??= vars();
      const problem = unknownTemplateName(name, known);
      if (problem !== null) throw new FieldError(field, explain ? explain(name, problem) : problem);
      use?.(name);
    }
  };
  check(fields.url, rec.request.url);
  for (const value of Object.values(rec.request.headers)) check(fields.headers, value);
  check(fields.body, rec.request.body);
  check(fields.status, rec.expect.status);
  check(fields.expectBody, rec.expect.body);
  check(fields.expectJson, rec.expect.json);
}

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

/** The texts of a record that capi-exec expands, with the field each is in. */
function* templated(rec: TestRecord, f: TemplateFields): Generator<[string, string]> {
  yield [f.url, rec.request.url];
  for (const value of Object.values(rec.request.headers)) yield [f.headers, value];
  if (rec.request.body !== null) yield [f.body, rec.request.body];
  yield [f.status, rec.expect.status];
  if (rec.expect.body !== null) yield [f.expectBody, rec.expect.body];
  if (rec.expect.json !== null) yield [f.expectJson, rec.expect.json];
}

/**
 * Every `{{name}}` the record's expanded fields use must name something (core
 * `unknownTemplateName`): a variable, `id`, `name` or a namespace. Throws FieldError for
 * the first that does not; `use` hears each name that resolved. `vars` is asked for only
 * when a template is found (most rows have none).
 */
export function checkTemplates(
  rec: TestRecord,
  fields: TemplateFields,
  vars: () => ReadonlySet<string>,
  use?: (name: string) => void,
  explain?: (name: string, problem: string) => string,
): void {
  let known: ReadonlySet<string> | undefined;
  for (const [field, text] of templated(rec, fields)) {
    for (const name of templateNames(text)) {
      known ??= vars();
      const problem = unknownTemplateName(name, known);
      if (problem !== null) throw new FieldError(field, explain ? explain(name, problem) : problem);
      use?.(name);
    }
  }
}

import { InputError, type TestRecord } from '@capi/core';
import { FieldError } from './cell-values.js';
import type { FlowScope } from './flow-scope.js';
import { checkTemplates, type TemplateFields } from './template-check.js';

/**
 * A row that became a test (with the input line it came from), or the error that row has:
 * the caller decides whether to skip it.
 */
export type RowOutcome = { record: TestRecord; line: number } | InputError;

/** Where a row stands and what it may name: the CSV and NDJSON readers differ only here. */
export interface RowPlace {
  scope: FlowScope;
  fields: TemplateFields;
  source: string;
  line: number;
  /** The suite's variable names this row sees. */
  vars: ReadonlySet<string>;
  /** Hears each template name that resolved (CSV: which columns were used). */
  use?: (name: string) => void;
}

/**
 * One suite row, CSV or NDJSON alike: made a record, placed in its flow's scope, its
 * `{{name}}`s checked against what it may use, then learnt so later rows see its
 * captures. A FieldError on the way is the row's InputError at its line.
 */
export function rowOutcome(toRecord: () => TestRecord, at: RowPlace): RowOutcome {
  try {
    const record = toRecord();
    at.scope.place(record, at.vars);
    checkTemplates(
      record,
      at.fields,
      () => at.scope.known(record, at.vars),
      at.use,
      (name, problem) => at.scope.explain(record, name, problem),
    );
    at.scope.learn(record);
    return { record, line: at.line };
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    return new InputError(at.source, at.line, err.message);
  }
}

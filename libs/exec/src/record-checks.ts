import {
  describeEnvProblem,
  envProblem,
  isRelativeUrl,
  missingRunVar,
  RUN_VAR_PREFIX,
  type TestRecord,
} from '@capi/core';
import type { EngineOptions } from './engine.js';
import { suiteRow } from './suite.js';
import { expand } from './template.js';

/**
 * Checks of a test record that would make the run itself wrong, not one test: bad input
 * (exit 2) at the record's line, before it runs or is journaled. Tests the journal
 * already has (`done`) and disabled ones are not checked: they will not run.
 */
type CheckInput = Pick<EngineOptions, 'env' | 'allowEnv' | 'runVars' | 'base'>;

export type RecordCheck = (rec: TestRecord) => string | null;

/**
 * A `{{env.NAME}}` that is not allowed or not set would end every test that uses it as a
 * TEMPLATE error (50,000 of them): it is bad input (exit 2) at the first record that uses
 * it, naming the variable, the test and its suite row. With `--in FILE` and a journal the
 * file is read before anything runs.
 */
function envCheck(opts: CheckInput, done: ReadonlyMap<string, string>): RecordCheck {
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    const problem = envProblem(rec, opts.env, opts.allowEnv);
    if (!problem) return null;
    const row = suiteRow(rec);
    return `field "${problem.field}": ${describeEnvProblem(problem)} (test ${JSON.stringify(rec.id)}${row ? `; ${row}` : ''})`;
  };
}

/** A `{{var.NAME}}` with no value would be a TEMPLATE error in every test: the same as an unset env. */
function runVarCheck(opts: CheckInput, done: ReadonlyMap<string, string>): RecordCheck {
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    const missing = missingRunVar(rec, opts.runVars);
    if (!missing) return null;
    const row = suiteRow(rec);
    const name = missing.name.slice(RUN_VAR_PREFIX.length);
    return `field "${missing.field}": {{${missing.name}}} has no value: give it with --var ${name}=… or --vars FILE (test ${JSON.stringify(rec.id)}${row ? `; ${row}` : ''})`;
  };
}

/** The checks of a record that would make the run itself wrong. */
export function recordChecks(opts: CheckInput, done: ReadonlyMap<string, string>): RecordCheck {
  const env = envCheck(opts, done);
  const vars = runVarCheck(opts, done);
  const base = baseUrlCheck(opts, done);
  const order = phaseOrderCheck();
  return (rec) => order(rec) ?? env(rec) ?? vars(rec) ?? base?.(rec) ?? null;
}

/**
 * Setup rows run before any test of the process (docs/capi-exec.md "Flows"), as the input
 * streams: one that comes after a test or teardown row could not run first, so it is bad
 * input (capi-split writes every batch with its setup rows first).
 */
function phaseOrderCheck(): RecordCheck {
  let after: string | null = null;
  return (rec) => {
    if (rec.phase !== 'setup') {
      after ??= rec.id;
      return null;
    }
    if (after === null) return null;
    return `field "phase": setup row ${JSON.stringify(rec.id)} comes after row ${JSON.stringify(after)}: setup rows must come first, before every test and teardown row`;
  };
}

/**
 * A test with a relative URL and no base URL could not run anywhere: that is a mistake in
 * the command, not a test result, so it is bad input (exit 2) at the record's line, found
 * as the record arrives and before it runs or is journaled (a journal of BAD_URL errors
 * would make the corrected rerun skip them all). Only tests that would run are checked:
 * not disabled ones, not those the journal already has.
 */
function baseUrlCheck(opts: CheckInput, done: ReadonlyMap<string, string>): RecordCheck | undefined {
  if (opts.base) return undefined;
  return (rec) => {
    if (!rec.enabled || done.has(rec.id)) return null;
    let url = rec.request.url;
    if (url.includes('{{')) {
      try {
        const scope = { id: rec.id, name: rec.name, vars: rec.vars, runVars: opts.runVars, env: opts.env };
        url = expand(url, { ...scope, allow: opts.allowEnv }, 'request.url');
      } catch {
        return null; // a missing variable: the test's own TEMPLATE error
      }
    }
    if (!isRelativeUrl(url)) return null;
    const row = suiteRow(rec);
    // The URL as written, never expanded: an {{env.*}} value is a secret.
    return `field "request.url": relative URL ${JSON.stringify(rec.request.url)} of test ${JSON.stringify(rec.id)} needs --base-url or CAPI_BASE_URL${row ? ` (${row})` : ''}`;
  };
}

import { ENV_PREFIX, type EnvAllow, envAllowed, RUN_VAR_PREFIX, TEMPLATE_PATTERN } from '@capi/core';

/**
 * `{{column}}`, `{{var.NAME}}` and `{{env.NAME}}` templates, expanded at send time. A plain
 * lookup: no expressions, no code. `id` and `name` come from the record, other names from
 * its vars; `var.NAME` from its `var.NAME` column, else the run's `--var`/`--vars`;
 * `env.NAME` from the environment, when allowed.
 */

export class MissingVariable extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(`missing variable "${variable}" in ${where}`);
    this.name = 'MissingVariable';
  }
}

/** `{{env.NAME}}` of a variable the run does not allow (`--allow-env`, the CAPI_ prefix). */
export class EnvNotAllowed extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(
      `{{env.${variable}}} in ${where} is not allowed (allow it with --allow-env ${variable}, or name it ${ENV_PREFIX}…)`,
    );
    this.name = 'EnvNotAllowed';
  }
}

export interface TemplateScope {
  id: string;
  name: string;
  vars: Record<string, string>;
  /** `--var` and `--vars`, read as `{{var.NAME}}`: not secret, not redacted; a test's own `var.NAME` column wins. */
  runVars?: Record<string, string>;
  env: NodeJS.ProcessEnv;
  /** Which env variables may be read; null: any (the operator's own `--header` values). */
  allow?: EnvAllow | null;
  /** Called with every value read from the environment, so it can be redacted. */
  onEnvValue?: (value: string, name: string) => void;
  /** Flows: values captured by earlier rows of the test's flow and by setup rows; the test's own vars win. */
  captures?: Record<string, string>;
  /** Called with every captured value read (a credential header's makes it a secret). */
  onCaptureValue?: (value: string, name: string) => void;
  /** What a credential header's scope calls for every captured value it reads (prepare.ts). */
  onCaptureSecret?: (value: string, name: string) => void;
}

/** The one template grammar, which capi-split checks names against (core template-names.ts). */
const PLACEHOLDER = TEMPLATE_PATTERN;

function lookup(key: string, scope: TemplateScope, where: string): string | undefined {
  if (key.startsWith('env.')) {
    const name = key.slice(4);
    if (scope.allow && !envAllowed(name, scope.allow)) throw new EnvNotAllowed(name, where);
    const value = scope.env[name];
    if (value !== undefined) scope.onEnvValue?.(value, name);
    return value;
  }
  if (Object.hasOwn(scope.vars, key)) return scope.vars[key];
  if (scope.captures && Object.hasOwn(scope.captures, key)) {
    const value = scope.captures[key] as string;
    scope.onCaptureValue?.(value, key);
    return value;
  }
  if (key === 'id') return scope.id;
  if (key === 'name') return scope.name;
  return runVar(key, scope.runVars);
}

/**
 * `{{var.NAME}}` when the test has no `var.NAME` column of its own: the run's `--var NAME`.
 * Plain names never read run variables, so capi-split can tell a typo from a run variable.
 */
function runVar(key: string, runVars: Record<string, string> | undefined): string | undefined {
  if (!runVars || !key.startsWith(RUN_VAR_PREFIX)) return undefined;
  const name = key.slice(RUN_VAR_PREFIX.length);
  return Object.hasOwn(runVars, name) ? runVars[name] : undefined;
}

/** Expands every placeholder in `text`; `where` names the field in the error. */
export function expand(text: string, scope: TemplateScope, where: string): string {
  if (!text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = lookup(key, scope, where);
    if (value === undefined) throw new MissingVariable(key, where);
    return value;
  });
}

export function expandNullable(text: string | null, scope: TemplateScope, where: string): string | null {
  return text === null ? null : expand(text, scope, where);
}

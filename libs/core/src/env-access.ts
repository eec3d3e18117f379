import type { TestRecord } from './records.js';
import { templateNames, templateReferences } from './template-names.js';

/**
 * Which environment variables a suite may read through `{{env.NAME}}`: those named by
 * `--allow-env` (a name, or a prefix ending in `*`) and every name that starts with
 * `CAPI_`. A suite from a pull request then cannot read every secret of the CI job.
 * `--header` values are the operator's own, not the suite's: they may read any variable.
 * Shared by capi-exec (at send time and at start) and capi-launch (before a run starts).
 */
export const ENV_PREFIX = 'CAPI_';

/**
 * Env values shorter than this are not redacted (with a warning): a one-character value
 * would shred every report. A secret that short is not a secret; put plain values in
 * `--var`.
 */
export const MIN_SECRET_LENGTH = 6;

export interface EnvAllow {
  names: ReadonlySet<string>;
  prefixes: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** `--allow-env A,B,MYAPP_*` (repeatable): a bad name is a message, thrown by the caller as a usage error. */
export function parseAllowEnv(values: readonly string[]): EnvAllow | string {
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const value of values)
    for (const raw of value.split(',')) {
      const item = raw.trim();
      if (item === '') continue;
      const prefix = item.endsWith('*') ? item.slice(0, -1) : null;
      if (!NAME.test(prefix ?? item))
        return `--allow-env: "${item.slice(0, 40)}" is not a variable name (NAME or PREFIX_*)`;
      if (prefix !== null) prefixes.push(prefix);
      else names.add(item);
    }
  return { names, prefixes };
}

export const NO_ENV_ALLOWED: EnvAllow = { names: new Set(), prefixes: [] };

export function envAllowed(name: string, allow: EnvAllow): boolean {
  return name.startsWith(ENV_PREFIX) || allow.names.has(name) || allow.prefixes.some((p) => name.startsWith(p));
}

/** The env names the templates in `text` read (core's one template grammar). */
export function envNamesIn(text: string | null): string[] {
  if (text === null) return [];
  return templateNames(text)
    .filter((name) => name.startsWith('env.'))
    .map((name) => name.slice(4));
}

export interface EnvProblem {
  name: string;
  /** The record field (`request.headers.Authorization`). */
  field: string;
  why: 'not allowed' | 'not set';
}

/** The first `{{env.NAME}}` of a test that cannot be read (not allowed, or not set), or null. */
export function envProblem(rec: TestRecord, env: NodeJS.ProcessEnv, allow: EnvAllow): EnvProblem | null {
  // templateReferences, not envReferences: no two new arrays per record (capi-exec checks every record; issue 16).
  for (const ref of templateReferences(rec)) {
    if (!ref.name.startsWith('env.')) continue;
    const name = ref.name.slice(4);
    const field = ref.field;
    if (!envAllowed(name, allow)) return { name, field, why: 'not allowed' };
    if (env[name] === undefined) return { name, field, why: 'not set' };
  }
  return null;
}

/** `{{env.X}} is not set in the environment` or `… is not allowed (allow it with --allow-env X, …)`. */
export function describeEnvProblem(p: EnvProblem): string {
  return p.why === 'not set'
    ? `{{env.${p.name}}} is not set in the environment`
    : `{{env.${p.name}}} is not allowed (allow it with --allow-env ${p.name}, or name it ${ENV_PREFIX}…)`;
}

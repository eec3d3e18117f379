import { TEMPLATE_PATTERN } from '@capi/core';

/**
 * `{{column}}` and `{{env.NAME}}` templates, expanded at send time. A plain lookup: no
 * expressions, no code. `id` and `name` come from the record, other names from its vars.
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

export interface TemplateScope {
  id: string;
  name: string;
  vars: Record<string, string>;
  env: NodeJS.ProcessEnv;
  /** Called with every value read from the environment, so it can be redacted. */
  onEnvValue?: (value: string) => void;
}

/** The one template grammar, which capi-split checks names against (core template-names.ts). */
const PLACEHOLDER = TEMPLATE_PATTERN;

function lookup(key: string, scope: TemplateScope): string | undefined {
  if (key.startsWith('env.')) {
    const value = scope.env[key.slice(4)];
    if (value !== undefined) scope.onEnvValue?.(value);
    return value;
  }
  if (Object.hasOwn(scope.vars, key)) return scope.vars[key];
  if (key === 'id') return scope.id;
  if (key === 'name') return scope.name;
  return undefined;
}

/** Expands every placeholder in `text`; `where` names the field in the error. */
export function expand(text: string, scope: TemplateScope, where: string): string {
  if (!text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = lookup(key, scope);
    if (value === undefined) throw new MissingVariable(key, where);
    return value;
  });
}

export function expandNullable(text: string | null, scope: TemplateScope, where: string): string | null {
  return text === null ? null : expand(text, scope, where);
}

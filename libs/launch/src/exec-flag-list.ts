import { isCredentialName } from '@capi/core';

/**
 * The capi-exec flags capi-launch takes and passes to every worker unchanged: one list,
 * read by the command line (tools/capi-launch exec-flags.ts) and by the resume that
 * replaces stored flags (`overrideExecArgs`), so a new flag cannot be known in one place
 * and not the other. `rate` and `concurrency` are not among them: they go through
 * control.json, where the rate is shared by the workers and both can change live.
 */
export const EXEC_VALUE_FLAGS = [
  'base-url',
  'delay',
  'timeout',
  'retries',
  'max-body',
  'max-errors',
  'max-pause',
  'reauth-on',
  'grace',
  'vars',
] as const;
/** Given as often as wanted; all are passed (`--header` also as `-H`). */
export const EXEC_REPEATED_FLAGS = ['header', 'allow-env', 'var'] as const;
export const EXEC_BOOLEAN_FLAGS = ['insecure', 'fsync', 'compressed', 'header-all-origins', 'retry-unsafe'] as const;

/** Stored flags that take no value (`--force` is added by a forced resume); every other is followed by its value. */
export const EXEC_SWITCHES: ReadonlySet<string> = new Set([...EXEC_BOOLEAN_FLAGS.map((f) => `--${f}`), '--force']);

/**
 * The flags as shown to people (stderr, logs): the value of a literal credential header
 * (`--header 'Private-Token: abc'`) is `[redacted]`; a template (`{{env.TOKEN}}`) is shown.
 */
export function showExecArgs(args: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    out.push(a);
    if (a !== '--header' || i + 1 >= args.length) continue;
    const h = args[++i] as string;
    const colon = h.indexOf(':');
    const literal = colon > 0 && !/^\s*(\w+\s+)?\{\{[^}]+\}\}\s*$/.test(h.slice(colon + 1));
    out.push(literal && isCredentialName(h.slice(0, colon)) ? `${h.slice(0, colon)}: [redacted]` : h);
  }
  return out.join(' ');
}

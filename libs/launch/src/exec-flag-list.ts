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
  'grace',
  'vars',
] as const;
/** Given as often as wanted; all are passed (`--header` also as `-H`). */
export const EXEC_REPEATED_FLAGS = ['header', 'allow-env', 'var'] as const;
export const EXEC_BOOLEAN_FLAGS = ['insecure', 'fsync', 'header-all-origins', 'retry-unsafe'] as const;

/** Stored flags that take no value (`--force` is added by a forced resume); every other is followed by its value. */
export const EXEC_SWITCHES: ReadonlySet<string> = new Set([...EXEC_BOOLEAN_FLAGS.map((f) => `--${f}`), '--force']);

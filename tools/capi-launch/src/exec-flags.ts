import { intFlag, repeatedFlag, UsageError } from '@capi/core';

/**
 * capi-exec flags that capi-launch takes and passes to every worker unchanged. `rate`
 * and `concurrency` are not among them: they go through control.json, where the rate is
 * shared by the workers and both can be changed while the run is live.
 */
export const EXEC_VALUE_FLAGS = [
  'base-url',
  'delay',
  'timeout',
  'retries',
  'max-body',
  'max-errors',
  'max-pause',
  'grace',
] as const;
export const EXEC_BOOLEAN_FLAGS = ['insecure', 'fsync', 'compressed'] as const;

/**
 * Checked here, so that a typo is one message at launch rather than every batch of a
 * background run failing with it.
 */
function checkExecFlag(name: string, v: string): void {
  if (name === 'base-url') {
    if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol))
      throw new UsageError(`--base-url takes an http(s) URL (got "${v}")`);
  } else if (name === 'max-errors') {
    if (!/^\d+%?$/.test(v)) throw new UsageError(`--max-errors takes N or P% (got "${v}")`);
  } else if (name === 'max-pause') intFlag(name, v, { max: 86_400 });
  else if (name === 'max-body') intFlag(name, v, { max: 268_435_456 });
  else intFlag(name, v);
}

export function execArgsFrom(args: Record<string, unknown>, argv: string[]): string[] {
  const out: string[] = [];
  for (const name of EXEC_VALUE_FLAGS) {
    const v = args[name];
    if (typeof v !== 'string' || v === '') continue;
    checkExecFlag(name, v);
    out.push(`--${name}`, v);
  }
  for (const h of repeatedFlag(argv, 'header', 'H')) out.push('--header', h);
  for (const name of EXEC_BOOLEAN_FLAGS) if (args[name] === true) out.push(`--${name}`);
  return out;
}

import { EXEC_FLAGS, type ExecFlag, type ExecFlagName, isCredentialName } from '@capi/core';

/**
 * The capi-exec flags capi-launch takes and passes to every worker unchanged, by kind:
 * derived from core's one definition (exec-flags.ts), read by the command line
 * (tools/capi-launch exec-flags.ts) and by the resume that replaces stored flags
 * (`overrideExecArgs`), so a new flag cannot be known in one place and not the other.
 * `rate` and `concurrency` are not among them (`live`): they go through control.json,
 * where the rate is shared by the workers and both can change live.
 */
const PASSED = (Object.entries(EXEC_FLAGS) as Array<[ExecFlagName, ExecFlag]>).filter(([, f]) => !f.live);
const namesWhere = (keep: (f: ExecFlag) => boolean): ExecFlagName[] =>
  PASSED.filter(([, f]) => keep(f)).map(([n]) => n);
/** Flags followed by one value; the last one given wins. */
export const EXEC_VALUE_FLAGS = namesWhere((f) => f.type === 'string' && !f.repeated);
/** Given as often as wanted; all are passed (`--header` also as `-H`). */
export const EXEC_REPEATED_FLAGS = namesWhere((f) => f.type === 'string' && f.repeated === true);
export const EXEC_BOOLEAN_FLAGS = namesWhere((f) => f.type === 'boolean');

/** Stored flags that take no value (`--force` is added by a forced resume); every other is followed by its value. */
const EXEC_SWITCHES: ReadonlySet<string> = new Set([...EXEC_BOOLEAN_FLAGS.map((f) => `--${f}`), '--force']);

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

/**
 * The stored capi-exec flags with those given again replacing them (all `--header`s when
 * one is given): a resume can point the run at a target that has moved or come back.
 * A stored `--force` (a resume that was forced) is never kept: each resume decides anew.
 */
export function overrideExecArgs(stored: string[], given: string[]): string[] {
  const names = new Set(given.filter((t) => t.startsWith('--')));
  const kept: string[] = [];
  for (let i = 0; i < stored.length; i++) {
    const flag = stored[i] as string;
    const words = EXEC_SWITCHES.has(flag) ? [flag] : [flag, stored[++i] as string];
    if (!names.has(flag) && flag !== '--force') kept.push(...words);
  }
  return [...kept, ...given];
}

/**
 * The value of a flag among the capi-exec flags a run keeps (`--timeout 5000`,
 * `--grace=3000`): the last one given wins, as capi-exec reads them. Undefined when absent.
 */
export function execArg(args: string[], flag: string): string | undefined {
  return execArgValues(args, flag).at(-1);
}

/** Every value of a flag among the stored capi-exec flags (`--allow-env` and `--header` repeat). */
export function execArgValues(args: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === flag && i + 1 < args.length) out.push(args[++i] as string);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  }
  return out;
}

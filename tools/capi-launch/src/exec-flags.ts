import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import {
  baseUrlProblem,
  EXEC_FLAGS,
  type ExecFlag,
  intFlag,
  parseAllowEnv,
  parseReauthOn,
  repeatedFlag,
  UsageError,
} from '@capi/core';
import { EXEC_BOOLEAN_FLAGS, EXEC_REPEATED_FLAGS, EXEC_VALUE_FLAGS } from '@capi/launch';

export { EXEC_BOOLEAN_FLAGS, EXEC_VALUE_FLAGS };

/**
 * Checked here, so that a typo is one message at launch rather than every batch of a
 * background run failing with it. Returns the value to pass on.
 */
function checkExecFlag(name: string, v: string): string {
  if (name === 'base-url') {
    const problem = baseUrlProblem(v);
    if (problem) throw new UsageError(`--base-url: ${problem}`);
  } else if (name === 'max-errors') {
    if (!/^\d+%?$/.test(v)) throw new UsageError(`--max-errors takes N or P% (got "${v}")`);
  } else if (name === 'vars') {
    // the workers may run in another folder
    try {
      accessSync(v, constants.R_OK);
    } catch {
      throw new UsageError(`--vars: cannot read ${v}`);
    }
    return resolve(v);
  } else if (name === 'reauth-on') parseReauthOn(v);
  else if (name === 'max-pause') intFlag(name, v, { max: 86_400 });
  else if (name === 'max-body') intFlag(name, v, { max: 268_435_456 });
  else intFlag(name, v);
  return v;
}

export function execArgsFrom(args: Record<string, unknown>, argv: string[]): string[] {
  const out: string[] = [];
  for (const name of EXEC_VALUE_FLAGS) {
    const v = args[name];
    if (typeof v !== 'string' || v === '') continue;
    out.push(`--${name}`, checkExecFlag(name, v));
  }
  for (const name of EXEC_REPEATED_FLAGS)
    for (const v of repeatedFlag(argv, name, (EXEC_FLAGS[name] as ExecFlag).alias)) out.push(`--${name}`, v);
  const allow = parseAllowEnv(repeatedFlag(argv, 'allow-env'));
  if (typeof allow === 'string') throw new UsageError(allow);
  for (const name of EXEC_BOOLEAN_FLAGS) if (args[name] === true) out.push(`--${name}`);
  return out;
}

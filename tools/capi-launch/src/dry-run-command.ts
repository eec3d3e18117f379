import { checkRate, ExitCode } from '@capi/core';
import { checkMethod, planRun } from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import type { LaunchArgs } from './launch-command.js';

/** `capi-launch SUITE --dry-run`: the plan on stdout; the flags are checked as a launch checks them. */
export async function dryRunCommand(o: LaunchArgs): Promise<number> {
  checkMethod(o.method, process.env);
  const plan = await planRun({
    suite: o.suite,
    runsDir: o.runs,
    method: o.method,
    parallel: o.parallel,
    batchSize: o.batchSize,
    maxBatchSize: o.maxBatchSize,
    lenient: o.lenient,
    autoId: o.autoId,
    ...(o.varsColumns ? { varsColumns: o.varsColumns } : {}),
    concurrency: o.concurrency,
    rate: o.rate ? checkRate(o.rate, '--rate') : null,
    execArgs: execArgsFrom(o.a, o.rawArgs),
    env: process.env,
    warn: (w) => process.stderr.write(`capi-launch: ${w}\n`),
  });
  process.stdout.write(`${plan.join('\n')}\n`);
  return ExitCode.ok;
}

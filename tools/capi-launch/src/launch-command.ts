import { checkRate, ExitCode, intFlag } from '@capi/core';
import { launchRun, type Method, type RemoteOptions } from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import { explainFailure, monitor, printLaunched, waitAndReport } from './report.js';

export interface LaunchArgs {
  suite: string;
  runs: string;
  method: Method;
  parallel: number;
  batchSize: number;
  /** Batches grow from `batchSize` to this (capi-split --max-batch-size); null: all `batchSize`. */
  maxBatchSize: number | null;
  maxRestarts: number;
  concurrency: number | null;
  rate: string | null;
  onFinish: string | null;
  stallTimeoutS: number | null;
  force: boolean;
  /** capi-split --lenient: skip bad rows, each named on stderr. */
  lenient: boolean;
  /** capi-split --vars-columns: columns kept as variables although no template uses them. */
  varsColumns: string[] | undefined;
  /** capi-split --auto-id: a row without an id is named row-<line>. */
  autoId: boolean;
  /** `--hosts` and its companions, checked (remote-flags.ts); null: workers run here. */
  remote: RemoteOptions | null;
  wait: boolean;
  monitor: boolean;
  a: Record<string, unknown>;
  rawArgs: string[];
}

/** `--stall-timeout S`: null when not given (the default depends on --timeout, see libs/launch stall.ts). */
export function stallFlag(a: Record<string, unknown>): number | null {
  return intFlag('stall-timeout', a['stall-timeout'] as string | undefined, { min: 0 }) ?? null;
}

const note = (t: string) => process.stderr.write(`capi-launch: ${t}\n`);

export async function launchCommand(o: LaunchArgs): Promise<number> {
  const rate = o.rate ? checkRate(o.rate, '--rate') : null;
  if (o.method === 'foreground' && (o.monitor || o.wait))
    note(
      `--${o.monitor ? 'monitor' : 'wait'} does nothing with --foreground: the run is supervised here, its log on stderr`,
    );
  const launched = await launchRun({
    suite: o.suite,
    runsDir: o.runs,
    method: o.method,
    // with --hosts: every worker slot of every host
    parallel: o.remote ? o.remote.hosts.reduce((n, h) => n + h.jobs, 0) : o.parallel,
    batchSize: o.batchSize,
    maxBatchSize: o.maxBatchSize,
    force: o.force,
    lenient: o.lenient,
    notes: note,
    launch: {
      rate,
      concurrency: o.concurrency,
      execArgs: execArgsFrom(o.a, o.rawArgs),
      maxRestarts: o.maxRestarts,
      onFinish: o.onFinish,
      stallTimeoutS: o.stallTimeoutS,
      lenient: o.lenient,
      ...(o.autoId ? { autoId: true } : {}),
      ...(o.varsColumns ? { varsColumns: o.varsColumns } : {}),
      ...(o.remote ? { remote: o.remote } : {}),
    },
  });
  if (launched.exitCode !== null) {
    await explainFailure(launched.runDir, launched.exitCode);
    return launched.exitCode;
  }
  printLaunched(launched, 'started');
  if (o.monitor) return monitor(launched.runDir);
  if (o.wait) return waitAndReport(launched.runDir);
  return ExitCode.ok;
}

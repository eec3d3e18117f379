import { join } from 'node:path';
import { checkRate, ExitCode, intFlag, repeatedFlag, UsageError } from '@capi/core';
import { checkK8sName, emitK8s, jobNameFor, podRate } from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import { varsColumnsFlag } from './run-options.js';

/** Flags that only mean something with `--emit k8s`. */
export const EMIT_FLAGS = ['image', 'shards', 'pvc', 'secret', 'suite-on-pvc', 'job-name'] as const;
/**
 * Launch flags that an emitted Job has no use for: refused rather than silently dropped
 * (`--dry-run` too, below: a dry run writes nothing, and --emit writes the manifests).
 */
const NOT_WITH_EMIT = [
  'nohup',
  'screen',
  'tmux',
  'foreground',
  'wait',
  'monitor',
  'on-finish',
  'stall-timeout',
  'batch-size',
  'runs-dir',
  'force',
  'max-batch-size',
  'hosts',
  'remote-capi',
  'ssh-config',
  'keep',
  'json',
] as const;

const note = (t: string) => process.stderr.write(`capi-launch: ${t}\n`);
const given = (v: unknown) => v !== undefined && v !== false;

/** `--image` without `--emit k8s`, or a positional DIR without it: a usage error, not a silent launch. */
export function refuseEmitFlags(a: Record<string, unknown>): void {
  for (const f of EMIT_FLAGS) if (given(a[f])) throw new UsageError(`--${f} goes with --emit k8s`);
  if (a.dir !== undefined) throw new UsageError(`one input only: unexpected argument '${a.dir}'`);
}

function required(a: Record<string, unknown>, flag: string, why: string): string {
  const v = a[flag];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--emit k8s needs --${flag} ${why}`);
  return v.trim();
}

/** `capi-launch SUITE --emit k8s DIR ...`: writes the manifests, prints their paths on stdout. */
export async function emitCommand(a: Record<string, unknown>, rawArgs: string[]): Promise<number> {
  if (a.emit !== 'k8s') throw new UsageError(`--emit takes k8s (got "${a.emit}")`);
  if (given(a['dry-run']))
    throw new UsageError('--dry-run goes with a launch or --prune, not --emit k8s (which writes the manifests)');
  for (const f of NOT_WITH_EMIT) if (given(a[f])) throw new UsageError(`--${f} does nothing with --emit k8s`);
  // a local file the pods cannot read: its values would be missing in every pod
  if (given(a.vars))
    throw new UsageError('--vars FILE is not carried into the pods: give the values with --var NAME=value');
  if (!a.target) throw new UsageError('name the suite (capi-launch SUITE.csv --emit k8s DIR)');
  if (!a.dir) throw new UsageError('name the folder to write to (capi-launch SUITE.csv --emit k8s DIR)');
  const image = required(a, 'image', 'IMAGE: an image with sh and capi installed (docs/capi-launch.md, Kubernetes)');
  const pvc = checkK8sName(required(a, 'pvc', 'NAME: the PersistentVolumeClaim the journals are written to'), '--pvc');
  const shards = intFlag('shards', a.shards as string | undefined, { min: 1, max: 10_000 }) ?? 4;
  const parallel = intFlag('parallel', a.parallel as string | undefined, { min: 1, max: 10_000 }) ?? shards;
  const parallelism = Math.min(parallel, shards);
  const concurrency = intFlag('concurrency', a.concurrency as string | undefined, { min: 1, max: 10_000 });
  const rate = typeof a.rate === 'string' ? podRate(checkRate(a.rate), parallelism) : null;
  const execArgs = [
    ...execArgsFrom(a, rawArgs),
    ...(concurrency ? ['--concurrency', String(concurrency)] : []),
    ...(rate ? ['--rate', rate] : []),
  ];
  const emitted = await emitK8s({
    suite: a.target as string,
    outDir: a.dir as string,
    name:
      typeof a['job-name'] === 'string' ? checkK8sName(a['job-name'], '--job-name') : jobNameFor(a.target as string),
    image,
    shards,
    parallelism,
    backoffLimitPerIndex: intFlag('max-restarts', a['max-restarts'] as string | undefined, { min: 0 }) ?? 3,
    pvc,
    secrets: repeatedFlag(rawArgs, 'secret').map((s) => checkK8sName(s, '--secret')),
    execArgs,
    suiteOnPvc: a['suite-on-pvc'] === true,
    lenient: a.lenient === true,
    varsColumns: varsColumnsFlag(a),
    autoId: a['auto-id'] === true,
    notes: note,
    env: process.env,
  });
  for (const f of emitted.files) process.stdout.write(`${f}\n`);
  note(
    `wrote Indexed Job ${emitted.plan.name}: ${emitted.tests} tests in ${shards} shards, ${parallelism} pods at once${rate ? `, --rate ${rate} each` : ''}; nothing was started. Next steps: ${join(a.dir as string, 'HOWTO.txt')}`,
  );
  return ExitCode.ok;
}

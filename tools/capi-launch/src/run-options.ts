import { basename } from 'node:path';
import { CONCURRENCY_MAX, CONCURRENCY_MIN, checkRate, intFlag, isNoRate, UsageError } from '@capi/core';
import type { LaunchOptions, ResumeChanges } from '@capi/launch';

type Args = Record<string, unknown>;

const given = (a: Args, name: string) => a[name] !== undefined && a[name] !== false;

/** `--vars-columns a,b` → the names; undefined when not given. */
export function varsColumnsFlag(a: Args): string[] | undefined {
  const text = a['vars-columns'];
  if (typeof text !== 'string') return undefined;
  const names = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--vars-columns needs at least one column name');
  return names;
}

/** Run options given on the command line, for a new run made from an earlier one (`--rerun-failed`). */
export function givenRunOptions(a: Args): Partial<LaunchOptions> {
  const out: Partial<LaunchOptions> = {};
  if (typeof a.rate === 'string') out.rate = checkRate(a.rate, '--rate');
  const concurrency = intFlag('concurrency', a.concurrency as string | undefined, {
    min: CONCURRENCY_MIN,
    max: CONCURRENCY_MAX,
  });
  if (concurrency !== undefined) out.concurrency = concurrency;
  const maxRestarts = intFlag('max-restarts', a['max-restarts'] as string | undefined, { min: 0 });
  if (maxRestarts !== undefined) out.maxRestarts = maxRestarts;
  if (a.lenient === true) out.lenient = true;
  if (a['auto-id'] === true) out.autoId = true;
  const vars = varsColumnsFlag(a);
  if (vars) out.varsColumns = vars;
  return out;
}

/** The options that shape a run's batches: fixed once its suite is split. */
const BATCH_OPTIONS = ['batch-size', 'max-batch-size', 'lenient', 'vars-columns', 'auto-id'] as const;

const valueless = (flag: string) => flag === 'lenient' || flag === 'auto-id';

/** `--resume` with an option that cannot change in a split run: refused, never ignored. */
export function refuseBatchOptions(a: Args, runDir: string): void {
  const flag = BATCH_OPTIONS.find((f) => given(a, f));
  if (flag === undefined) return;
  const id = basename(runDir);
  throw new UsageError(
    `--${flag} cannot change on --resume: run ${id}'s batches are already split; capi-launch --rerun-failed ${id} --${flag}${valueless(flag) ? '' : ' …'} makes a new run of its failed tests, capi-launch SUITE --${flag}${valueless(flag) ? '' : ' …'} a new run`,
  );
}

/** `--resume RUN --concurrency 8` (and the other run options) applied to the rest of the run. */
export function resumeChanges(a: Args): ResumeChanges {
  const out: ResumeChanges = {};
  if (typeof a.rate === 'string') out.rate = isNoRate(a.rate) ? null : checkRate(a.rate, '--rate');
  const concurrency = intFlag('concurrency', a.concurrency as string | undefined, {
    min: CONCURRENCY_MIN,
    max: CONCURRENCY_MAX,
  });
  if (concurrency !== undefined) out.concurrency = concurrency;
  const parallel = intFlag('parallel', a.parallel as string | undefined, { min: 1, max: 256 });
  if (parallel !== undefined) out.parallel = parallel;
  const maxRestarts = intFlag('max-restarts', a['max-restarts'] as string | undefined, { min: 0 });
  if (maxRestarts !== undefined) out.maxRestarts = maxRestarts;
  if (typeof a['on-finish'] === 'string') out.onFinish = a['on-finish'];
  return out;
}

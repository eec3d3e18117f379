import type { TestDone } from './run-one.js';
import type { RunStop } from './run-stop.js';

/** Connection errors that mean the target is not there at all (not a flaky answer). */
export const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'DNS']);

/**
 * Which refusals stop the run as "target unreachable". With a base URL, only a refusal by
 * its origin before that origin has answered in this run: a suite row with an absolute URL
 * to a host that is down is an ordinary error, and never blocks the batch. Without one,
 * a refusal before any origin has answered, in this run or in the journal (a resume of a
 * batch whose only test left points at a host that is down completes).
 */
export function createAnswered(baseOrigin: string | null, answeredBefore: boolean) {
  const origins = new Set<string>();
  return {
    note: (origin: string) => origins.add(origin),
    stopsRun(origin: string): boolean {
      if (baseOrigin !== null) return origin === baseOrigin && !origins.has(origin);
      return origins.size === 0 && !answeredBefore;
    },
  };
}

/**
 * The target could not be reached before it ever answered (refused, DNS): the run stops
 * with exit 3 and such tests are not recorded (true: cut it), so a resume runs them once
 * it is up. The target is the base URL's origin; a test to another host that is down is an
 * ordinary error (see createAnswered).
 */
export function unreachableJudge(baseOrigin: string | null, answeredBefore: boolean, stop: RunStop) {
  const answered = createAnswered(baseOrigin, answeredBefore);
  return (done: TestDone): boolean => {
    const o = done.outcome;
    if (o.response && done.origin) answered.note(done.origin);
    if (o.status !== 'error' || !UNREACHABLE_CODES.has(o.error?.code ?? '')) return false;
    if (done.origin === null || !answered.stopsRun(done.origin)) return false;
    stop.end('unreachable', `target unreachable: ${done.secrets.redact(o.error?.message ?? '')}`);
    return true;
  };
}

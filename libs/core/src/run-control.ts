import { plainLine } from './clean-text.js';
import { CONCURRENCY_MAX, CONCURRENCY_MIN } from './exec-flags.js';
import { checkRate, parseRate } from './parse-rate.js';

/**
 * control.json, a launched run's live limits (docs/run-folder.md "control.json"): written
 * whole by capi-launch (`--pause`, `--continue`, `--set`, and its supervisor's `workers`),
 * re-read four times a second by each capi-exec given `--control`, which does not take a `rate`
 * or `concurrency` outside their grammar (`controlRate`, `controlConcurrency`: a hand-edited
 * file) and keeps the one it ran with, as for such a `workers` (`controlWorkers`), and a file
 * it cannot parse (half-written) as no change.
 */
export interface RunControl {
  paused: boolean;
  /** The whole run's rate in `--rate`'s grammar (core parse-rate.ts), shared by the `workers`; null: no limit. */
  rate: string | null;
  /** Each worker's concurrency; null: capi-exec's own. */
  concurrency: number | null;
  /** The worker slots at work, which share `rate` equally. */
  workers: number;
  /**
   * true: every capi-exec reading the file stops as on a first SIGTERM (no new tests,
   * in-flight ones get `--grace`). capi-launch's `--hosts` supervisor writes it into the
   * copies it pushes to remote workers, which no signal of this machine reaches.
   */
  stop?: boolean;
}

/**
 * control.json's `rate` as capi-exec takes it: text in `--rate`'s grammar (trimmed), or null
 * (no limit, as `capi-launch --set rate=none` writes). Anything else (missing, not text, not
 * a rate: `"fast"`, `"none"`, `"0/s"`, a JSON number) is `undefined`, not taken: against a
 * real API a typo must not lift the limit, so capi-exec keeps the rate it last took (a
 * worker that starts while the file is so: run.json's copy, the last one capi-launch took),
 * and run.json's copy stays as it is (`withLiveLimits`). One rule for capi-exec and capi-launch.
 */
export function controlRate(c: Partial<RunControl>): string | null | undefined {
  if (c.rate === null) return null;
  if (typeof c.rate !== 'string') return undefined;
  try {
    return checkRate(c.rate);
  } catch {
    return undefined;
  }
}

/**
 * control.json's `concurrency` as capi-exec takes it: a whole number within its
 * `--concurrency` bounds, or null. Anything else is `undefined`, not taken: capi-exec keeps
 * the concurrency it last took, else its own `--concurrency` (a launched worker's is
 * run.json's copy when it started), and run.json's copy stays as it is (`withLiveLimits`).
 * One rule for capi-exec and capi-launch.
 */
export function controlConcurrency(c: Partial<RunControl>): number | null | undefined {
  if (c.concurrency === null) return null;
  const n = c.concurrency;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= CONCURRENCY_MIN && n <= CONCURRENCY_MAX
    ? n
    : undefined;
}

/**
 * control.json's `workers` as capi-exec takes it: a whole number, 1 or more; anything else is
 * `undefined`, not taken. Each worker takes `rate / workers`, so reading a bad one as 1 (as
 * earlier versions did) gave every worker the whole run's rate: capi-exec keeps the one it last
 * took (before any, run.json's `parallel`), and `--hosts` sends the hosts the same. One rule
 * for capi-exec and capi-launch.
 */
export function controlWorkers(c: Partial<RunControl>): number | undefined {
  const n = c.workers;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/**
 * control.json's `rate` and `workers` last taken, kept from read to read: a value capi-exec
 * does not take leaves these. One piece of state for capi-exec's workers (libs/exec
 * `ControlMemory`, which starts it from run.json) and capi-launch's `--hosts` supervisor
 * (libs/launch `forHosts`, which sends the hosts what a worker here would run with).
 */
export interface TakenLimits {
  /** The whole run's rate text; null: no limit; undefined: none taken yet. */
  rate?: string | null;
  /** Where `rate` came from (`control.json`, or what the keeper started it from), for messages. */
  rateFrom?: string;
  /** The live workers the rate is shared by; undefined: none taken yet. */
  workers?: number;
  /** Where `workers` came from, for messages. */
  workersFrom?: string;
  /** The last line said about a value not taken: it is said once per change, not at every read. */
  said?: string | null;
}

/**
 * Takes control.json's `rate` and `workers` into `kept` where capi-exec takes them
 * (`controlRate`, `controlWorkers`); returns what was taken, `undefined` for a value not
 * taken, which leaves `kept` as it was.
 */
export function takeLimits(
  c: Partial<RunControl>,
  kept: TakenLimits,
): { rate: string | null | undefined; workers: number | undefined } {
  const rate = controlRate(c);
  if (rate !== undefined) Object.assign(kept, { rate, rateFrom: 'control.json' });
  const workers = controlWorkers(c);
  if (workers !== undefined) Object.assign(kept, { workers, workersFrom: 'control.json' });
  return { rate, workers };
}

/** Says `line` (what was not taken; null: all was) when it differs from the last one said. */
export function sayOnChange(kept: TakenLimits, line: string | null, log: (line: string) => void): void {
  if (line !== null && line !== (kept.said ?? null)) log(line);
  kept.said = line;
}

/** What each control.json limit must be, as `controlRate`, `controlConcurrency` and `controlWorkers` take it. */
const WANTED = {
  rate: 'a rate such as 50/s, 600/m or 3600/h, or null for no limit',
  concurrency: `a whole number from ${CONCURRENCY_MIN} to ${CONCURRENCY_MAX}, or null`,
  workers: 'a whole number, 1 or more',
} as const;

/**
 * The start of the line a reader of control.json says when it does not take `field`'s value
 * (`"rate" "fast" is not taken (a rate such as …)`): one wording for capi-exec's workers and
 * capi-launch's `--hosts` supervisor, each adding what it runs with instead.
 */
export function controlNotTaken(field: keyof typeof WANTED, c: Partial<RunControl>): string {
  return `"${field}" ${valueText(c[field])} is not taken (${WANTED[field]})`;
}

/**
 * A control.json value as a person is shown it: its JSON, cut at 60 characters, cleaned (a
 * hand edit). JSON.parse takes nesting that JSON.stringify cannot give back (20,000 `[`
 * overflow its stack): such a value is shown by its kind, never thrown out of a worker, a
 * listing or capi-watch.
 */
function valueText(v: unknown): string {
  if (v === undefined) return '(missing)';
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch {
    text = Array.isArray(v) ? '[… nested too deep to show]' : '{… nested too deep to show}';
  }
  return plainLine(text.slice(0, 60));
}

/** A launched run's rate limit in force (`rateInForce`), for people and scripts. */
export interface RateInForce {
  /** The whole run's rate, in `--rate`'s grammar as kept (`200/s`, `600/m`); null: no limit. */
  rate: string | null;
  /** The same in tests per second; null: no limit. */
  perSecond: number | null;
  /** control.json's limits capi-exec does not take (`rate`, `workers`); empty: all taken. */
  notTaken: Array<'rate' | 'workers'>;
  /** For people: `limit 200/s`, `no limit`, or `control.json rate "fast" not taken; 200/s in force`. */
  text: string;
}

/**
 * The whole run's rate limit a launched run's workers run with, by the rule they take
 * control.json by (libs/exec `controlEffect`), for capi-watch and `capi-launch --status`:
 * control.json's `rate` when capi-exec takes it (`controlRate`); else the one the workers
 * kept, as run.json's copy (`recorded`: `options.rate`, the last rate capi-launch took,
 * `withLiveLimits`; what a worker that starts now runs at), and no limit when that copy is
 * none capi-exec takes either (a launched worker has no `--rate` of its own). `control` is
 * control.json as parsed; undefined: missing or not JSON, which changes nothing for the
 * workers (the copy is what they run with). A `workers` not taken (`controlWorkers`) is named
 * too: the workers then share the rate by the number they last took.
 */
export function rateInForce(control: unknown, recorded: unknown): RateInForce {
  // the rate the workers kept: run.json's copy, no limit when that is none they take either
  const kept = controlRate({ rate: recorded as string }) ?? null;
  if (control === undefined) return described(kept, {}, []);
  // as capi-exec reads it: anything parsed that is not an object has no field it takes
  const c = (typeof control === 'object' && control !== null ? control : {}) as Partial<RunControl>;
  const taken = controlRate(c);
  const notTaken: RateInForce['notTaken'] = [];
  if (taken === undefined) notTaken.push('rate');
  if (controlWorkers(c) === undefined) notTaken.push('workers');
  const rate = taken !== undefined ? taken : kept;
  return described(rate, c, notTaken);
}

/** A rate limit as people are shown it: `200/s`, `600/m` (a bare number is per second: `20/s`), or `no limit`. */
export function shownRate(rate: string | null): string {
  return rate === null ? 'no limit' : rate.includes('/') ? rate : `${rate}/s`;
}

function described(rate: string | null, c: Partial<RunControl>, notTaken: RateInForce['notTaken']): RateInForce {
  const shown = shownRate(rate);
  const text =
    notTaken.length === 0
      ? rate === null
        ? shown
        : `limit ${shown}`
      : `control.json ${notTaken.map((f) => `${f} ${valueText(c[f])}`).join(', ')} not taken; ${shown} in force`;
  return { rate, perSecond: rate === null ? null : parseRate(rate), notTaken, text };
}

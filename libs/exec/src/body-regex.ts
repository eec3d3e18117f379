import type { Worker } from 'node:worker_threads';
import { BACKTRACK_LIMIT, setExecV8Flags } from './v8-flags.js';

/**
 * `expect.body` regexes run on text the API controls, so one must never hold the event
 * loop (heartbeat, SIGTERM, every other lane): `/^(a+)+$/` on 40 `a`s and a `!` backtracks
 * for hours. Two ways, by pattern:
 * - a pattern V8's linear-time engine supports (no backreferences, lookaround, `i`, `u`,
 *   `v` or `d` in Node 20), on a body of at most MAIN_THREAD_MAX_CHARS, runs on the main
 *   thread on the usual backtracking engine, which V8 switches to the linear-time engine
 *   once a match has backtracked BACKTRACK_LIMIT times: fast in the common case (the
 *   linear engine alone is ~60x slower on a plain pattern), and at worst linear in
 *   pattern × body, which the body cap holds to a fraction of a second (measured: the
 *   worst of the catastrophic patterns in the tests takes ~20 s on 1 MB of `a`s);
 * - any other pattern, or a longer body, runs in a worker thread with a deadline
 *   (REGEX_DEADLINE_MS) and is terminated when it runs out: the check then fails and
 *   says so.
 */

export { BACKTRACK_LIMIT };

// The `l` flag and the switch to the linear-time engine exist only behind V8 flags
// (v8-flags.ts); they must be set before the first body regex runs.
setExecV8Flags();

/** The longest body a regex runs on in the main thread. */
export const MAIN_THREAD_MAX_CHARS = 16 * 1024;

/** How long one body regex may run in the worker before it is stopped. */
export const REGEX_DEADLINE_MS = 2000;

export interface BodyRegex {
  source: string;
  flags: string;
  /** The pattern has a linear-time form: safe to run on the main thread (V8 falls back to it). */
  onMain: RegExp | null;
}

/** Compiles `/source/flags` (throws SyntaxError as `new RegExp` does). */
export function compileBodyRegex(source: string, flags: string): BodyRegex {
  const plain = new RegExp(source, flags);
  try {
    new RegExp(source, `${plain.flags}l`);
    return { source, flags: plain.flags, onMain: plain };
  } catch {
    return { source, flags: plain.flags, onMain: null };
  }
}

/** true or false: matched or not; 'timeout': the deadline passed before it was decided. */
export type RegexVerdict = boolean | 'timeout';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const cache = new Map();
parentPort.on('message', ({ source, flags, text, exec }) => {
  const key = flags + '/' + source;
  let re = cache.get(key);
  if (!re) { re = new RegExp(source, flags); if (cache.size < 100) cache.set(key, re); }
  re.lastIndex = 0;
  if (!exec) { parentPort.postMessage(re.test(text)); return; }
  const m = re.exec(text);
  const value = m === null ? undefined : m.length > 1 ? m[1] : m[0];
  parentPort.postMessage(value === undefined ? null : { value });
});`;

/** What the worker answers: a test's verdict, or an exec's capture (null: no match). */
type Answer = RegexVerdict | Captured | null;

/** A body capture's value (an object, so that a captured text `timeout` is not the deadline). */
export interface Captured {
  value: string;
}

interface Job {
  regex: BodyRegex;
  text: string;
  /** Capture (the first group, or the whole match) rather than test. */
  exec: boolean;
  resolve: (v: Answer) => void;
}

const queue: Job[] = [];
let worker: Worker | null = null;
let online = false;
let current: Job | null = null;
let timer: NodeJS.Timeout | null = null;

function finish(v: Answer): void {
  if (timer) clearTimeout(timer);
  timer = null;
  const job = current;
  current = null;
  job?.resolve(v);
  next();
}

function drop(): void {
  const w = worker;
  worker = null;
  online = false;
  void w?.terminate();
}

function start(): Worker {
  // node:worker_threads loaded with the first worker: most suites' regexes run on the main
  // thread, and a run without one does not pay its load at start-up
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const w = new Worker(WORKER, { eval: true });
  w.on('online', () => {
    online = true;
    next();
  });
  w.on('message', (v: Answer) => finish(v));
  w.on('error', () => {
    drop();
    finish('timeout');
  });
  return w;
}

/** One job at a time; the deadline counts from when the worker is handed the job. */
function next(): void {
  // Idle, the worker keeps nothing alive (unref after the listeners: adding a 'message'
  // listener refs it again); with jobs waiting it keeps the process up.
  if (!current && queue.length === 0) worker?.unref();
  if (current || queue.length === 0) return;
  worker ??= start();
  worker.ref();
  if (!online) return;
  current = queue.shift() as Job;
  const { regex, text, exec } = current;
  worker.postMessage({ source: regex.source, flags: regex.flags, text, exec });
  timer = setTimeout(() => {
    // terminate() stops a regex mid-backtrack; the next job gets a fresh worker.
    drop();
    finish('timeout');
  }, REGEX_DEADLINE_MS);
}

/** Ends a job early (the run is being cut): it leaves the queue, or its worker is stopped. */
function cancel(job: Job): void {
  const at = queue.indexOf(job);
  if (at >= 0) {
    queue.splice(at, 1);
    job.resolve('timeout');
    next();
  } else if (current === job) {
    drop();
    finish('timeout');
  }
}

/**
 * Tests `text` against the regex without ever blocking the event loop past a bound;
 * `signal` ends a wait for the worker early (answering 'timeout').
 */
export function testBodyRegex(
  regex: BodyRegex,
  text: string,
  signal?: AbortSignal,
): RegexVerdict | Promise<RegexVerdict> {
  if (regex.onMain && text.length <= MAIN_THREAD_MAX_CHARS) {
    regex.onMain.lastIndex = 0;
    return regex.onMain.test(text);
  }
  return inWorker(regex, text, false, signal) as Promise<RegexVerdict>;
}

/**
 * What a body capture takes (flows, capture.ts), under the same bound as a check: the
 * first group, or the whole match when the regex has no group; null when nothing matched
 * (or the first group took no part); 'timeout' when the deadline passed.
 */
export function execBodyRegex(
  regex: BodyRegex,
  text: string,
  signal?: AbortSignal,
): Captured | null | 'timeout' | Promise<Captured | null | 'timeout'> {
  if (regex.onMain && text.length <= MAIN_THREAD_MAX_CHARS) {
    regex.onMain.lastIndex = 0;
    const m = regex.onMain.exec(text);
    const value = m === null ? undefined : m.length > 1 ? m[1] : m[0];
    return value === undefined ? null : { value };
  }
  return inWorker(regex, text, true, signal) as Promise<Captured | null | 'timeout'>;
}

function inWorker(regex: BodyRegex, text: string, exec: boolean, signal?: AbortSignal): Answer | Promise<Answer> {
  if (signal?.aborted) return 'timeout';
  return new Promise<Answer>((resolve) => {
    const onAbort = () => cancel(job);
    const job: Job = {
      regex,
      text,
      exec,
      resolve: (v) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(job);
    next();
  });
}

import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

/**
 * `expect.body` regexes run on text the API controls, so one must never hold the event
 * loop (heartbeat, SIGTERM, every other lane): `/^(a+)+$/` on 40 `a`s and a `!` backtracks
 * for hours. Two ways, by pattern:
 * - V8's linear-time engine (the `l` flag, time linear in pattern × body) where it supports
 *   the pattern (no backreferences, lookaround, `i`, `u`, `v` or `d` in Node 20);
 * - otherwise a worker thread that matches with a deadline (REGEX_DEADLINE_MS) and is
 *   terminated when it runs out: the check then fails and says so.
 */

// The `l` flag exists only behind this V8 flag; it changes nothing else.
setFlagsFromString('--enable-experimental-regexp-engine');

/** How long one body regex may run in the worker before it is stopped. */
export const REGEX_DEADLINE_MS = 2000;

export interface BodyRegex {
  source: string;
  flags: string;
  /** Compiled for the linear-time engine: safe to run on the main thread. */
  linear: RegExp | null;
}

/** Compiles `/source/flags` (throws SyntaxError as `new RegExp` does). */
export function compileBodyRegex(source: string, flags: string): BodyRegex {
  const plain = new RegExp(source, flags);
  try {
    return { source, flags: plain.flags, linear: new RegExp(source, `${plain.flags}l`) };
  } catch {
    return { source, flags: plain.flags, linear: null };
  }
}

/** true or false: matched or not; 'timeout': the deadline passed before it was decided. */
export type RegexVerdict = boolean | 'timeout';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const cache = new Map();
parentPort.on('message', ({ source, flags, text }) => {
  const key = flags + '/' + source;
  let re = cache.get(key);
  if (!re) { re = new RegExp(source, flags); if (cache.size < 100) cache.set(key, re); }
  re.lastIndex = 0;
  parentPort.postMessage(re.test(text));
});`;

interface Job {
  regex: BodyRegex;
  text: string;
  resolve: (v: RegexVerdict) => void;
}

const queue: Job[] = [];
let worker: Worker | null = null;
let online = false;
let current: Job | null = null;
let timer: NodeJS.Timeout | null = null;

function finish(v: RegexVerdict): void {
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
  const w = new Worker(WORKER, { eval: true });
  w.on('online', () => {
    online = true;
    next();
  });
  w.on('message', (ok: boolean) => finish(ok));
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
  worker.postMessage({ source: current.regex.source, flags: current.regex.flags, text: current.text });
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
  if (regex.linear) {
    regex.linear.lastIndex = 0;
    return regex.linear.test(text);
  }
  if (signal?.aborted) return 'timeout';
  return new Promise<RegexVerdict>((resolve) => {
    const onAbort = () => cancel(job);
    const job: Job = {
      regex,
      text,
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

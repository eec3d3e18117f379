import { setFlagsFromString } from 'node:v8';

/** Backtracks before V8 re-runs a body regex's match on its linear-time engine (about a millisecond's work; body-regex.ts). */
export const BACKTRACK_LIMIT = 100_000;

/**
 * The V8 flags capi-exec runs under, in one place: its entry sets them before it compiles the
 * tool's code (core code-cache.ts: V8 refuses a code cache made under other flags), and the
 * modules that need them set them again when imported on their own (tests, capi-launch).
 * - The regexp ones: the `l` flag, used only to ask V8 whether a pattern has a linear-time
 *   form, and the switch to that form on excessive backtracking exist only behind them
 *   (body-regex.ts); they change nothing else.
 * - `--wasm-tiering-budget`: undici parses HTTP with llhttp in WebAssembly. V8 recompiles its
 *   hot functions with the optimizing compiler after a budget of work that one request
 *   already spends, and Node waits for that background compile before a process exits: 0.2 s
 *   added to a run of one test (issue 15). Ten times the default budget (1,800,000) lets a
 *   short run end without it; a long run still tiers up after a few thousand responses.
 *   Read by V8 when llhttp is compiled, at undici's first connection.
 */
export const EXEC_V8_FLAGS: readonly string[] = [
  '--enable-experimental-regexp-engine',
  '--enable-experimental-regexp-engine-on-excessive-backtracks',
  `--regexp-backtracks-before-fallback=${BACKTRACK_LIMIT}`,
  '--wasm-tiering-budget=18000000',
];

/** Sets EXEC_V8_FLAGS (setting one twice changes nothing). */
export function setExecV8Flags(): void {
  for (const flag of EXEC_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * The node built-ins every capi-exec run loads as it starts (its sockets, streams and timers,
 * undici's diagnostics channels), which its entry loads before it sets EXEC_V8_FLAGS (core
 * code-cache.ts `startBuiltins` says why). Only ones every run needs: a built-in a run may
 * never use (node:crypto, node:http, node:zlib, node:worker_threads...) stays taken at its
 * first use, and the installed tool's one-test run is tested to load none of those.
 */
export const EXEC_START_BUILTINS: readonly string[] = [
  'node:net',
  'node:stream',
  'node:stream/promises',
  'node:os',
  'node:timers/promises',
  'node:diagnostics_channel',
  'node:string_decoder',
];

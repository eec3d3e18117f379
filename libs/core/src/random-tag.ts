import type * as Crypto from 'node:crypto';

/**
 * `bytes` random bytes as hex: the tag that keeps one process's temporary file or lock
 * token apart from another's. node:crypto is loaded at the first call, not when a tool
 * starts: it is the costliest node built-in a one-test capi-exec run would otherwise load
 * (some 6-9 ms of its start; docs/benchmarks.md, "capi-exec start-up, sixteenth round"),
 * and such a run writes no temporary file.
 */
export function randomHex(bytes: number): string {
  return (process.getBuiltinModule('node:crypto') as typeof Crypto).randomBytes(bytes).toString('hex');
}

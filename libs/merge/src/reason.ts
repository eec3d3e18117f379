import { plainLine } from './clean-text.js';
import type { MergedTest } from './merged-test.js';

/** Digits, hex ids and long runs vary per test; the pattern of a failure should not. */
function pattern(text: string): string {
  const flat = plainLine(text)
    .replace(/\s+/g, ' ')
    .replace(/[0-9a-f]{8,}/gi, '…')
    .replace(/\d+(\.\d+)?/g, 'N');
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/**
 * A failed status check shows the start of the body (`500, body: {"error":…}`): the
 * group is the status alone, or every body would make a group of its own.
 */
function actualOf(f: { check: string; actual: string }): string {
  return f.check === 'status' ? (f.actual.split(', body: ', 1)[0] as string) : f.actual;
}

/**
 * Why a test did not pass, as a key that groups alike failures: each failed check with
 * its expected value and the pattern of the actual one, or the error code.
 */
export function reasonOf(t: MergedTest): string | null {
  if (t.status === 'missing') return 'missing: no result';
  if (t.status === 'error') return `error ${t.error?.code ?? 'UNKNOWN'}`;
  if (t.status !== 'failed') return null;
  const checks = (t.failures ?? []).map((f) => `${f.check} expected ${f.expected}, got ${pattern(actualOf(f))}`);
  return checks.length > 0 ? checks.join(' + ') : 'failed (no check named)';
}

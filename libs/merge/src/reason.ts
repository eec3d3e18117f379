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
 * Why a test did not pass, as a key that groups alike failures: each failed check with
 * its expected value and the pattern of the actual one, or the error code.
 */
export function reasonOf(t: MergedTest): string | null {
  if (t.status === 'missing') return 'missing: no result';
  if (t.status === 'error') return `error ${t.error?.code ?? 'UNKNOWN'}`;
  if (t.status !== 'failed') return null;
  const checks = (t.failures ?? []).map((f) => `${f.check} expected ${f.expected}, got ${pattern(f.actual)}`);
  return checks.length > 0 ? checks.join(' + ') : 'failed (no check named)';
}

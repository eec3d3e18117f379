import { UsageError } from '@capi/core';

/** `--max-errors 10` (a count) or `10%` (a share of the tests done, after a minimum sample). */
export interface MaxErrors {
  count: number | null;
  percent: number | null;
}

export function parseMaxErrors(text: string, flag = '--max-errors'): MaxErrors {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isFinite(n) || (m[2] === '' && !Number.isInteger(n)) || (m[2] === '%' && n > 100))
    throw new UsageError(`${flag} takes a whole number or a percentage like 10% (got "${text}")`);
  return m[2] === '%' ? { count: null, percent: n } : { count: n, percent: null };
}

import { UsageError } from '@capi/core';

/** Parses `20/s`, `600/m`, `3600/h` or a bare number (per second) into tests per second. */
export function parseRate(text: string, flag = '--rate'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/i.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !(n > 0)) throw new UsageError(`${flag} takes a rate like 20/s, 600/m or 3600/h (got "${text}")`);
  const unit = (m[2] ?? 's').toLowerCase();
  const per = unit.startsWith('h') ? 3600 : unit.startsWith('m') ? 60 : 1;
  return n / per;
}

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

import { UsageError } from './errors.js';

/**
 * The `--rate` grammar, one rule for capi-exec (`--rate`, control.json `rate`) and
 * capi-launch (`--rate`, `--set rate=`, `--resume --rate`, `--emit k8s`): `20/s`,
 * `600/m`, `3600/h` (`sec`, `min`, `hour` too) or a bare number per second; more than zero.
 */
const RATE = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/i;

/** The number and its unit in seconds (1, 60 or 3600); a UsageError naming `flag` when the text is no rate. */
function rateParts(text: string, flag: string): { n: number; seconds: number } {
  const m = RATE.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !(n > 0))
    throw new UsageError(`${flag} takes a rate like 20/s, 600/m, 3600/h or 20 (per second) (got "${text}")`);
  const unit = (m[2] ?? 's').toLowerCase();
  return { n, seconds: unit.startsWith('h') ? 3600 : unit.startsWith('m') ? 60 : 1 };
}

/** Tests per second. */
export function parseRate(text: string, flag = '--rate'): number {
  const { n, seconds } = rateParts(text, flag);
  return n / seconds;
}

/** Tests per hour: exact for every rate the grammar writes, where per second would round `1/h`. */
export function ratePerHour(text: string, flag = '--rate'): number {
  const { n, seconds } = rateParts(text, flag);
  return n * (3600 / seconds);
}

/** `none`, `0`, `0/s`...: no limit, as `--set rate=` and `--resume --rate` take it. */
export const isNoRate = (text: string) => /^\s*(none|0+(\.0*)?(\s*\/\s*[a-z]+)?)\s*$/i.test(text);

/** The rate text as run.json and control.json keep it (trimmed), once the grammar took it. */
export function checkRate(text: string, flag = '--rate'): string {
  rateParts(text, flag);
  return text.trim();
}

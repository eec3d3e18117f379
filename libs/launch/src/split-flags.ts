import type { LaunchOptions } from './manifest.js';

/** The launch options that shape the suite's records: capi-split's flags for them. */
export type SplitShape = Pick<LaunchOptions, 'lenient' | 'varsColumns' | 'autoId'>;

/**
 * capi-split's flags of a run (run.json `options`): every split of its suite (the launch's,
 * `--dry-run`'s, `--emit k8s`'s, `--resume`'s and `--rerun-failed`'s comparisons) makes
 * the same records.
 */
export function splitFlags(o: SplitShape): string[] {
  const flags = o.lenient ? ['--lenient'] : [];
  if (o.varsColumns && o.varsColumns.length > 0) flags.push('--vars-columns', o.varsColumns.join(','));
  if (o.autoId) flags.push('--auto-id');
  return flags;
}

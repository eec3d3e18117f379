import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at its first size instead of letting it grow to 16 MB a
 * semi-space (32 MB of new space, every page of it touched before each collection).
 *
 * Why: a split allocates some 6 KB per row that dies young (the record, its cells, the
 * pieces of its JSON line) and keeps almost nothing (0.5-2.5 % survives a scavenge, about
 * 40-160 KB: the current 16 KiB piece's rows and the batch being built). V8 still grows the
 * young generation to its maximum, and over a million rows in batches of 100 that was a
 * quarter of the peak RSS: 32 MB of new space in a 125 MB process (the rest: some 39 MB
 * of node itself, 9 MB for the batch-file thread, 16 MB of old space, 17 MB of id table).
 * With a growth factor of 1 it stays small: more scavenges, each as cheap (what survives
 * does not change), and the peak RSS of that split falls to 98-105 MB, for some 0.5 s more
 * user CPU in about 6 s (4 interleaved runs each, docs/benchmarks.md). The flag is read
 * when the young generation would grow, so set at run time it takes effect (a command-line
 * flag would not reach `node capi-split.js` as capi-launch and the benchmark start it);
 * capi-merge does the same (its command.ts). Starting a worker's isolate puts V8's flags
 * back as they were at start (seen on Node 20: the new space grew to 32 MB again once the
 * batch-file thread started), so `--out` calls this again once that thread runs.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

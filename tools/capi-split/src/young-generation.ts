import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The new space (two semi-spaces) is let grow to this size and held there, instead of
 * growing to V8's 32 MB (16 MB semi-spaces, every page of it touched between collections).
 *
 * Why: a split allocates some 6 KB per row that dies young and keeps little (about 125 KB
 * survives a scavenge: the current 16 KiB piece's records), yet V8 grew the new space to
 * 32 MB, a quarter of the peak RSS of a million rows in batches of 100 (125 MB: the rest is
 * some 39 MB of node itself, 9 MB for the batch-file thread, 16 MB of old space, 17 MB of
 * id table). The cost of a smaller one is more scavenges, each copying the same survivors:
 * held at its first size (some 3,900 scavenges instead of 530) the split peaked at 98-105
 * MB but took about 0.6 s more user CPU in 6; held at 8 MB (about 1,950 scavenges) it
 * peaks at 102-108 MB. A scavenge cost about the same whatever the size (0.4-0.5 ms
 * of pause, most of it the parallel scavenge's hand-off to V8's helper threads for some
 * 125 KB of survivors), so they are run on the main thread alone (`--no-parallel-scavenge`,
 * read at each scavenge): the same 1,950 scavenges then paused the split 462-643 ms in all,
 * against 837-985 ms in parallel and 465 ms for V8's 530 at 32 MB. Measured in
 * docs/benchmarks.md ("capi-split --out, split12").
 */
export const HELD_NEW_SPACE_BYTES = 8 * 1024 * 1024;
/** How often the new space is looked at: it doubles at most every few hundred ms. */
const LOOK_MS = 10;

/**
 * Holds V8's young generation at HELD_NEW_SPACE_BYTES once it has grown there, with
 * `--semi-space-growth-factor=1`, and scavenges it on the main thread alone. Both flags are
 * read as V8 needs them (the growth factor when the new space would grow, the other at each
 * scavenge), so set at run time they take effect; a command-line flag would not reach
 * `node capi-split.js` as capi-launch and the benchmark start it (capi-merge sets its
 * growth factor at its start the same way). Looked at every LOOK_MS, and at
 * once through the returned `look`: starting a worker's isolate set the growth factor back
 * to V8's default (seen on Node 20: the new space grew to 32 MB again once the batch-file
 * thread started), so `--out` calls it again once that thread runs. The timer keeps nothing
 * alive; `stop` ends it.
 */
export function holdYoungGeneration(limit = HELD_NEW_SPACE_BYTES): { look: () => void; stop: () => void } {
  const look = () => {
    setFlagsFromString('--no-parallel-scavenge');
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (space !== undefined && space.space_size >= limit) setFlagsFromString('--semi-space-growth-factor=1');
  };
  look();
  const timer = setInterval(look, LOOK_MS);
  timer.unref();
  return { look, stop: () => clearInterval(timer) };
}

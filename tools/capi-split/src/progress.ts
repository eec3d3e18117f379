import { isLive, liveLine } from '@capi/core';

const EVERY_MS = 250;
/** Small inputs finish before this; only a large one gets a progress line. */
const AFTER_MS = 1000;

/** A `rows, rows/s` line on stderr, rewritten at most 4 times a second, and only on a TTY. */
export function progressLine(stream: NodeJS.WriteStream = process.stderr) {
  if (!isLive(stream)) return { update: (_rows: number) => {}, done: () => {} };
  const line = liveLine(stream);
  const started = Date.now();
  let last = started;
  return {
    update(rows: number) {
      const now = Date.now();
      if (now - started < AFTER_MS || now - last < EVERY_MS) return;
      last = now;
      const rate = Math.round(rows / ((now - started) / 1000));
      line.update(`capi-split: ${rows.toLocaleString('en-US')} rows read, ${rate.toLocaleString('en-US')} rows/s`);
    },
    done: () => line.clear(),
  };
}

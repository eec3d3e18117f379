import type { Readable } from 'node:stream';
import { CapiError, ExitCode } from '@capi/core';

/**
 * Ctrl-C, a TERM or a closed terminal (HUP) stops reading with an error, so that the split
 * unwinds like any other error: --out removes its temporary folder, and nothing
 * half-written is left (exit 130/143/129).
 */
const CODES = { SIGHUP: ExitCode.sighup, SIGINT: ExitCode.sigint, SIGTERM: ExitCode.sigterm } as const;
const SIGNALS = Object.keys(CODES) as Array<keyof typeof CODES>;

export function stopInput(stream: Readable): { signal: AbortSignal; off(): void } {
  // also aborted with the stop: a signal after the input has ended is heard by writeBatches
  const stopped = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    const err = new CapiError(`stopped by ${signal}`, CODES[signal as keyof typeof CODES]);
    stopped.abort(err);
    // a stop before the reading starts (--out waiting for DIR's lock, or judging leftovers): no
    // one listens yet, and an unheard 'error' would end the process with a stack and exit 1;
    // the reading, once it starts, still throws it
    stream.once('error', () => {});
    stream.destroy(err);
  };
  for (const s of SIGNALS) process.once(s, stop);
  return {
    signal: stopped.signal,
    off() {
      for (const s of SIGNALS) process.off(s, stop);
    },
  };
}

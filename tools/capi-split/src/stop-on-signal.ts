import type { Readable } from 'node:stream';
import { CapiError, ExitCode } from '@capi/core';

/**
 * Ctrl-C or a TERM stops reading with an error, so that the split unwinds like any other
 * error: --out removes its temporary folder, and nothing half-written is left (exit 130/143).
 */
export function stopInput(stream: Readable) {
  const stop = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
    stream.destroy(new CapiError(`stopped by ${signal}`, code));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    off() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

import { CapiError, fsReason, isErrnoException } from '@capi/core';

/** An error in one line for a run's log: `cannot write PATH: no space left on the device` for disk trouble. */
export function describeError(err: unknown): string {
  if (err instanceof CapiError) return err.message;
  if (isErrnoException(err) && err.syscall && err.path)
    return `cannot ${err.syscall} ${err.path}: ${fsReason(err.code)}`;
  return err instanceof Error ? err.message : String(err);
}

import { createInterface } from 'node:readline';
import { CapiError, ExitCode } from '@capi/core';

/** The line capi-launch writes when the run's journals are complete (`--after-go`). */
export const GO_LINE = 'go';

/**
 * `--after-go`: capi-launch starts its merge ahead of the run's end, so that node's
 * start-up and the loading of the merge's code overlap the last batches instead of
 * following them (docs/capi-launch.md, "Supervision"). Nothing of the run is read before
 * the go line: the journals are complete only then. Stdin ending without it (the run was
 * stopped, its supervisor died) merges nothing: exit 3.
 */
export async function waitForGo(stdin: NodeJS.ReadableStream): Promise<void> {
  const lines = createInterface({ input: stdin });
  try {
    for await (const line of lines) if (line.trim() === GO_LINE) return;
  } finally {
    lines.close();
  }
  throw new CapiError(`stdin ended before "${GO_LINE}" (--after-go): nothing merged`, ExitCode.cannotRun);
}

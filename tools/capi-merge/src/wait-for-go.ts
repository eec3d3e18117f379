import { createInterface } from 'node:readline';

/** The line capi-launch writes when the run's journals are complete (`--after-go`). */
export const GO_LINE = 'go';

/**
 * `--after-go`: capi-launch starts its merge ahead of the run's end, so that node's
 * start-up and the loading of the merge's code overlap the last batches instead of
 * following them (docs/capi-launch.md, "Supervision"). Only files complete already (the batch
 * files, journals of batches that ended) are read before the go line, and any that
 * changed is read again after it (libs/merge mergeAfterGo). False when stdin ends without it
 * (the run was stopped, its supervisor died): nothing is merged, and nothing said, since
 * the merge's output goes to logs/capi.log, whose last line must stay the supervisor's
 * (`--wait` quotes it to say why a run ended without an end).
 */
export async function waitForGo(stdin: NodeJS.ReadableStream): Promise<boolean> {
  const lines = createInterface({ input: stdin });
  try {
    for await (const line of lines) if (line.trim() === GO_LINE) return true;
  } finally {
    lines.close();
  }
  return false;
}

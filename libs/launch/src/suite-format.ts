import { createReadStream } from 'node:fs';
import { sniffSuite } from '@capi/core';

/**
 * A suite file's format as capi-split decides it (core's `sniffSuite`: `{` after a BOM and
 * blanks is NDJSON), so that messages name its own fields (`url` or `request.url`). An
 * unreadable or empty file reads as CSV, the format suites are written in.
 */
export async function suiteFormat(suite: string): Promise<'csv' | 'ndjson'> {
  const input = createReadStream(suite, { highWaterMark: 4096 });
  try {
    const { format, chunks } = await sniffSuite(input);
    await chunks.return(undefined);
    return format ?? 'csv';
  } catch {
    return 'csv';
  } finally {
    input.destroy();
  }
}

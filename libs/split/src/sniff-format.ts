import { EMPTY_SUITE, InputError, sniffSuite } from '@capi/core';
import type { InputFormat } from './options.js';

export interface SniffedInput {
  format: 'csv' | 'ndjson';
  /** The input's bytes (a BOM dropped), including the ones looked at. */
  chunks: AsyncIterable<Buffer>;
}

/**
 * Decides CSV or NDJSON by the first byte that is not blank (`{` is NDJSON: no suite CSV
 * header starts with a brace). Input with nothing in it is an error, except NDJSON asked
 * for by name: an upstream filter may rightly have left no tests.
 */
export async function sniffFormat(
  input: AsyncIterable<Buffer>,
  format: InputFormat,
  source: string,
): Promise<SniffedInput> {
  const { format: found, chunks } = await sniffSuite(input);
  if (found === null && format !== 'ndjson') throw new InputError(source, 1, EMPTY_SUITE);
  const detected = format === 'auto' ? (found ?? 'csv') : format;
  return { format: detected, chunks };
}

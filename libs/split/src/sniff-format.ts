import { InputError } from '@capi/core';
import type { InputFormat } from './options.js';

export interface SniffedInput {
  format: 'csv' | 'ndjson';
  /** The same bytes as the input, including the ones looked at. */
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
  const iterator = input[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let first = -1;
  while (first === -1) {
    const next = await iterator.next();
    if (next.done) break;
    seen.push(next.value);
    first = firstNonBlank(next.value);
  }
  if (first === -1 && format !== 'ndjson') throw new InputError(source, 1, 'empty file: expected a header row');
  const detected = format === 'auto' ? (first === 0x7b ? 'ndjson' : 'csv') : format;
  return { format: detected, chunks: replay(seen, iterator) };
}

function firstNonBlank(chunk: Buffer): number {
  for (const byte of chunk) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte;
  return -1;
}

async function* replay(seen: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* seen;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

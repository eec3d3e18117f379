/**
 * A suite's format from its content, for capi-split and capi-merge alike: the first
 * character that is not blank or a byte order mark is `{` for capi-split's NDJSON test
 * records; anything else is the suite CSV (no CSV header starts with a brace). A leading
 * BOM is dropped, so NDJSON saved by an editor that adds one still parses. `null`: there
 * is nothing but blanks; each tool decides what that means.
 */

/** What capi-split and `capi-merge --suite` say of a suite with nothing in it (line 1). */
export const EMPTY_SUITE = 'empty file: expected a header row';

export interface SniffedSuite {
  format: 'csv' | 'ndjson' | null;
  /** The input's bytes, BOM removed, including the ones looked at. */
  chunks: AsyncGenerator<Buffer>;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const isBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Index of the first content byte after a BOM and blanks; -1 when more bytes are needed. */
function firstContent(head: Buffer): number {
  let i = 0;
  if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) return -1;
  if (head.subarray(0, BOM.length).equals(BOM)) i = BOM.length;
  while (i < head.length && isBlank(head[i] as number)) i++;
  return i < head.length ? i : -1;
}

export async function sniffSuite(input: AsyncIterable<Buffer | string>): Promise<SniffedSuite> {
  const rest = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let first = -1;
  while (first === -1) {
    const next = await rest.next();
    if (next.done) break;
    head = Buffer.concat([head, typeof next.value === 'string' ? Buffer.from(next.value) : next.value]);
    first = firstContent(head);
  }
  const format = first === -1 ? null : head[first] === 0x7b ? 'ndjson' : 'csv';
  const body = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
  return { format, chunks: replay(body, rest) };
}

async function* replay(head: Buffer, rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  try {
    if (head.length > 0) yield head;
    for (let next = await rest.next(); !next.done; next = await rest.next())
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
  } finally {
    await rest.return?.();
  }
}

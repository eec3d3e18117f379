import type * as Crypto from 'node:crypto';
import {
  InputError,
  inShard,
  normalizeTestRecord,
  readNdjsonChunks,
  type Shard,
  type TestRecord,
  validateTestRecord,
} from '@capi/core';

export interface ReadOptions {
  /** A journal holds each id once: a repeated id is bad input. */
  unique?: boolean;
  /**
   * A problem with a record that makes the run itself wrong (a relative URL and no base
   * URL): a message, thrown as bad input at the record's line before it is yielded.
   */
  check?: (rec: TestRecord) => string | null;
  /**
   * A file read twice, once before anything runs and again as the run goes: the first read
   * notes what it checked here, the second reads through it (see `CheckedRead`).
   */
  checked?: CheckedRead;
}

/** The suite row of a record, for messages: `suite.csv:5`, or ''. */
export function suiteRow(rec: TestRecord): string {
  return rec.source ? `${rec.source.file}${rec.source.line ? `:${rec.source.line}` : ''}` : '';
}

/**
 * A chunk's digest: SHA-1 in C++, some 10 ms over a 15 MB suite (100,000 tests). node:crypto
 * is taken at the first digest, not at start-up (core random-tag.ts says why): a run
 * without a journal never reads its suite twice.
 */
const digestOf = (chunk: Buffer | string): string =>
  (process.getBuiltinModule('node:crypto') as typeof Crypto).hash('sha1', chunk, 'base64');

/**
 * An `--in` file with a journal is read twice (docs/capi-exec.md, "Resume"): before any
 * test runs, every record validated, checked and its id unique, then again as the run
 * goes. The first read notes each chunk's digest and the ids it met with their lines;
 * the second compares each chunk as it comes. While every chunk so far is byte for byte
 * the first read's, a line is the one the first read validated at the same line number:
 * it is not validated again nor its id looked up, which was a third of the second read's
 * CPU (issue 16). From the first chunk that differs (a file changed between the reads)
 * every line is validated as on any read, and the ids of the lines before it are taken
 * from the first read's. The record checks (`check`) run on every read: some hold state.
 */
export class CheckedRead {
  private readonly digests: string[] = [];
  /** The first read reached the end of its input. */
  private complete = false;
  /** The second read has begun. */
  private again = false;
  /** Every chunk of the second read so far matched the first read's. */
  private same = true;
  /** Ids of the first read and the line each first came at (its unique check's map). */
  readonly ids = new Map<string, number>();

  /** The input of a read, noted (first read) or compared (second read) chunk by chunk. */
  wrap(input: AsyncIterable<Buffer | string>): AsyncIterable<Buffer | string> {
    if (this.again) throw new Error('a checked file is read twice, not more');
    if (this.complete) {
      this.again = true;
      return this.compare(input);
    }
    return this.note(input);
  }

  /** The second read: the lines handed on so far are those the first read checked. */
  get unchanged(): boolean {
    return this.again && this.same;
  }

  /** The ids of the lines before `line` (all the same as the first read's), for a second read whose bytes changed after them. */
  idsBefore(line: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, at] of this.ids) if (at < line) out.set(id, at);
    this.ids.clear();
    return out;
  }

  private async *note(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
    for await (const chunk of input) {
      this.digests.push(digestOf(chunk));
      yield chunk;
    }
    this.complete = true;
  }

  // A chunk is compared before it is handed on: lines are cut from it only after.
  private async *compare(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
    let n = 0;
    for await (const chunk of input) {
      if (this.same && (n >= this.digests.length || digestOf(chunk) !== this.digests[n])) this.same = false;
      n++;
      yield chunk;
    }
    // A file cut short ends with a last line the first read did not have whole.
    if (n !== this.digests.length) this.same = false;
  }
}

/**
 * Test records from NDJSON, validated; only this shard's. With `unique` (a journal holds
 * each id once), a repeated id is bad input named at the input line where it came again:
 * `<stdin>:4: field "id": duplicate id "T0001" (first at line 1; suite.csv:5)`.
 * The records of each input chunk come as one array (an await per chunk, not per record:
 * issue 16); a bad record ends the read after the records before it were handed on.
 */
export async function* readTestRecords(
  input: AsyncIterable<Buffer | string>,
  source: string,
  shard: Shard | null,
  options: ReadOptions = {},
): AsyncGenerator<TestRecord[]> {
  let seq = 0;
  const { checked } = options;
  const bytes = checked ? checked.wrap(input) : input;
  // A second read of a checked file needs no map of its own while its bytes are the same.
  const again = checked?.unchanged === true;
  let firstLine = !options.unique ? null : checked && !again ? checked.ids : again ? null : new Map<string, number>();
  /** The last line read while the bytes were the first read's: every line up to it is the same. */
  let sameUpTo = 0;
  for await (const lines of readNdjsonChunks(bytes, { source })) {
    const out: TestRecord[] = [];
    // The chunk's bytes were compared before its lines were cut: the same for all of them.
    const trusted = again && (checked as CheckedRead).unchanged;
    let bad: unknown = null;
    try {
      for (const { value, line } of lines) {
        if (trusted) sameUpTo = line;
        else {
          const problem = validateTestRecord(value);
          if (problem) {
            bad = new InputError(source, line, problem);
            break;
          }
        }
        const rec = normalizeTestRecord(value as Record<string, unknown>, seq++);
        // Flows stay whole in a shard (by flow name), setup and teardown rows are in every
        // shard: the same rule as capi-split --shard (libs/split/src/filters.ts).
        if (shard && rec.phase === undefined && !inShard(rec.flow ?? rec.id, shard)) continue;
        if (options.unique && !trusted) {
          firstLine ??= (checked as CheckedRead).idsBefore(sameUpTo + 1);
          const first = firstLine.get(rec.id);
          if (first !== undefined) {
            const row = suiteRow(rec);
            bad = new InputError(
              source,
              line,
              `field "id": duplicate id ${JSON.stringify(rec.id)} (first at line ${first}${row ? `; ${row}` : ''})`,
            );
            break;
          }
          firstLine.set(rec.id, line);
        }
        const wrong = options.check?.(rec);
        if (wrong) {
          bad = new InputError(source, line, wrong);
          break;
        }
        out.push(rec);
      }
    } catch (err) {
      // The records before it still reach the run first, as they did one by one.
      bad = err;
    }
    if (out.length > 0) yield out;
    if (bad) throw bad;
  }
}

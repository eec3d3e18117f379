import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { InputError } from './errors.js';
import { MAX_LINE_CHARS } from './suite-limits.js';

/**
 * capi's one NDJSON reader and writer. The `ndjson` package is not used: it ends the
 * stream on a line holding `null`, its errors carry no line number, and in strict mode
 * it loses records parsed earlier in the same chunk (docs/formats.md, "NDJSON").
 */

export interface NdjsonLine {
  value: unknown;
  /** 1-based line number in the source. */
  line: number;
}

export interface ReadNdjsonOptions {
  /** Name used in error messages: a file path, or `<stdin>`. */
  source: string;
  /**
   * Journals: a last line with no newline that does not parse is a write cut short by a
   * crash, not an error. It is skipped and reported here.
   */
  onTornTail?: (line: number, text: string) => void;
  /** Longest accepted line in characters. */
  maxLineLength?: number;
  /**
   * A malformed line (not the torn last one) is handed here and skipped instead of ending
   * the read: for readers that set bad lines aside and say so (capi-exec's resume).
   */
  onBadLine?: (error: InputError, text: string) => void;
}

/** One limit for every NDJSON reader and for what capi-split writes (suite-limits.ts). */
const DEFAULT_MAX_LINE = MAX_LINE_CHARS;

function parseLine(text: string, line: number, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InputError(source, line, `malformed JSON: ${reason}`);
  }
}

/** Where a reader is in its source: the last line number seen, for messages and caps. */
export interface LineCursor {
  /** Name used in error messages: a file path, or `<stdin>`. */
  source: string;
  /** The number of the last line seen (0 before the first). */
  line: number;
  /** Longest accepted line in characters. */
  maxLine: number;
}

export function lineCursor(source: string, maxLine = DEFAULT_MAX_LINE): LineCursor {
  return { source, line: 0, maxLine };
}

/**
 * The one place NDJSON text is cut into lines. Calls `onLine` with every complete line
 * of `text` that is not blank (a `\r` before the newline dropped) and returns the index
 * where the unfinished rest begins. Synchronous, so a reader of millions of lines pays
 * no await per line.
 */
export function eachLine(text: string, cursor: LineCursor, onLine: (text: string, line: number) => void): number {
  let start = 0;
  let nl = text.indexOf('\n');
  while (nl !== -1) {
    const line = ++cursor.line;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    // A whole line in one chunk must meet the cap too, not only a line still pending.
    if (end - start > cursor.maxLine) throw tooLong(cursor, line);
    const lineText = text.slice(start, end);
    if (lineText.trim() !== '') onLine(lineText, line);
    start = nl + 1;
    nl = text.indexOf('\n', start);
  }
  return start;
}

/** A pending rest past the cap: the line being read is too long. */
export function checkPending(length: number, cursor: LineCursor): void {
  if (length > cursor.maxLine) throw tooLong(cursor, cursor.line + 1);
}

function tooLong(cursor: LineCursor, line: number): InputError {
  return new InputError(cursor.source, line, `line longer than ${cursor.maxLine} characters`);
}

/**
 * The text after the last newline: null when blank, else the last line (numbered) with
 * a `\r` dropped. When `tornTail` is given, a last line that does not parse is a journal
 * write cut short by a crash: it is reported there and null returned.
 */
export function lastLine(
  rest: string,
  cursor: LineCursor,
  tornTail?: (line: number, text: string) => void,
): { text: string; line: number } | null {
  if (rest.trim() === '') return null;
  const line = ++cursor.line;
  const text = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  if (tornTail) {
    try {
      JSON.parse(text);
    } catch {
      tornTail(line, text);
      return null;
    }
  }
  return { text, line };
}

/**
 * The `onLine` of `eachLine` that parses each line into `sink`: a malformed line goes to
 * `onBadLine` when there is one, else it ends the read (an InputError naming the line).
 */
function parsedLines(
  options: ReadNdjsonOptions,
  cursor: LineCursor,
  sink: (l: NdjsonLine) => void,
): (text: string, line: number) => void {
  return (text, line) => {
    if (!options.onBadLine) {
      sink({ value: parseLine(text, line, cursor.source), line });
      return;
    }
    let value: unknown;
    try {
      value = parseLine(text, line, cursor.source);
    } catch (err) {
      options.onBadLine(err as InputError, text);
      return;
    }
    sink({ value, line });
  };
}

/**
 * `readNdjson` of text already whole in memory (a small journal read at once), without an
 * await per line: the same lines, values, torn tail, caps and errors, handed to `onLine`
 * in order as they are parsed. A reader of 1,000,000 results paid a promise and a turn of
 * the microtask queue per line (docs/benchmarks.md "capi-launch, sixth round").
 */
export function eachNdjsonLine(text: string, options: ReadNdjsonOptions, onLine: (l: NdjsonLine) => void): void {
  const cursor = lineCursor(options.source, options.maxLineLength);
  const start = eachLine(text, cursor, parsedLines(options, cursor, onLine));
  const rest = start === 0 ? text : text.slice(start);
  checkPending(rest.length, cursor);
  const last = lastLine(rest, cursor, options.onTornTail);
  if (last) onLine({ value: parseLine(last.text, last.line, cursor.source), line: last.line });
}

/** Bytes already in memory (a small file read whole) as the chunk stream readNdjson and capi-exec's input take. */
export async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/**
 * Reads NDJSON from byte or string chunks, handing on the lines of each input chunk as one
 * array (a fresh one each time): a reader of millions of lines pays an await per chunk,
 * not per line (issue 16), and reads the next chunk only when it asks for it
 * (backpressure). Blank lines are skipped; `\r\n` is accepted. A malformed line ends the
 * read with an InputError after the lines before it were handed on.
 */
export async function* readNdjsonChunks(
  input: AsyncIterable<Buffer | string>,
  options: ReadNdjsonOptions,
): AsyncGenerator<NdjsonLine[]> {
  const cursor = lineCursor(options.source, options.maxLineLength);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lines: NdjsonLine[] = [];
  const collect = parsedLines(options, cursor, (l) => lines.push(l));
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    // Lines are parsed before any is handed on: a malformed line ends the chunk's records
    // there, and those before it still reach the reader first.
    let start = 0;
    let bad: unknown = null;
    try {
      start = eachLine(pending, cursor, collect);
    } catch (err) {
      bad = err;
    }
    if (lines.length > 0) {
      const out = lines;
      lines = [];
      yield out;
    }
    if (bad) throw bad;
    pending = start === 0 ? pending : pending.slice(start);
    checkPending(pending.length, cursor);
  }
  const last = lastLine(pending + decoder.end(), cursor, options.onTornTail);
  if (last) yield [{ value: parseLine(last.text, last.line, cursor.source), line: last.line }];
}

/** Reads NDJSON from byte or string chunks, line by line: `readNdjsonChunks` one line at a time. */
export async function* readNdjson(
  input: AsyncIterable<Buffer | string>,
  options: ReadNdjsonOptions,
): AsyncGenerator<NdjsonLine> {
  // Not `yield* lines`: that goes through an async-from-sync iterator, two more promises
  // per line (issue 16).
  for await (const lines of readNdjsonChunks(input, options)) for (const l of lines) yield l;
}

/**
 * Writes one JSON value per line. Lines are gathered and written once per tick (or once
 * per `gatherMs`, when given) or per 64 KiB, and `write` waits for 'drain' when the stream
 * asks it to (backpressure).
 */
export class NdjsonWriter {
  /** The lines gathered (joined once per write: one flat string, not a rope of two pieces a line). */
  private lines: string[] = [];
  /** Their length in characters, newlines included. */
  private size = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private waiting: Promise<void> | null = null;
  constructor(
    private readonly stream: Writable,
    private readonly highWater = 64 * 1024,
    /**
     * Gather lines for this long before writing them: a process that ends a few tests in
     * every turn of its loop (capi-exec) then wakes the reader of a pipe once per batch of
     * lines, not once per turn. 0: once per tick.
     */
    private readonly gatherMs = 0,
  ) {}

  /** Resolves at once unless the stream is full; await it to honour backpressure. */
  write(value: unknown): Promise<void> | undefined {
    return this.writeLine(JSON.stringify(value));
  }

  /** Writes one line of JSON text already serialized (no newline): saves a second stringify. */
  writeLine(json: string): Promise<void> | undefined {
    this.lines.push(json);
    this.size += json.length + 1;
    if (this.size >= this.highWater) return this.flush();
    if (!this.timer) {
      const later = () => {
        this.timer = null;
        void this.flush();
      };
      this.timer = this.gatherMs > 0 ? setTimeout(later, this.gatherMs) : setImmediate(later);
    }
    return this.waiting ?? undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    if (this.lines.length > 0) {
      this.lines.push('');
      const chunk = this.lines.join('\n');
      this.lines = [];
      this.size = 0;
      if (!this.stream.write(chunk) && !this.waiting) {
        this.waiting = once(this.stream, 'drain').then(() => {
          this.waiting = null;
        });
      }
    }
    return this.waiting ?? undefined;
  }

  /** Flushes everything; ends the stream unless it is process.stdout/stderr. */
  async close(end = false): Promise<void> {
    await this.flush();
    if (end) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }
}

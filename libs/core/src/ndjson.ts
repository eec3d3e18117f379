import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { InputError } from './errors.js';

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
}

const DEFAULT_MAX_LINE = 64 * 1024 * 1024;

function parseLine(text: string, line: number, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InputError(source, line, `malformed JSON: ${reason}`);
  }
}

/** Reads NDJSON from byte or string chunks. Blank lines are skipped; `\r\n` is accepted. */
export async function* readNdjson(
  input: AsyncIterable<Buffer | string>,
  options: ReadNdjsonOptions,
): AsyncGenerator<NdjsonLine> {
  const { source } = options;
  const maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    let nl = pending.indexOf('\n', start);
    while (nl !== -1) {
      line++;
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      // A whole line in one chunk must meet the cap too, not only a line still pending.
      if (end - start > maxLine) throw new InputError(source, line, `line longer than ${maxLine} characters`);
      const text = pending.slice(start, end);
      if (text.trim() !== '') yield { value: parseLine(text, line, source), line };
      start = nl + 1;
      nl = pending.indexOf('\n', start);
    }
    pending = start === 0 ? pending : pending.slice(start);
    if (pending.length > maxLine) throw new InputError(source, line + 1, `line longer than ${maxLine} characters`);
  }
  pending += decoder.end();
  if (pending.trim() === '') return;
  line++;
  const text = pending.endsWith('\r') ? pending.slice(0, -1) : pending;
  if (options.onTornTail) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      options.onTornTail(line, text);
      return;
    }
    yield { value, line };
    return;
  }
  yield { value: parseLine(text, line, source), line };
}

/**
 * Writes one JSON value per line. Lines are gathered and written once per tick or per
 * 64 KiB, and `write` waits for 'drain' when the stream asks it to (backpressure).
 */
export class NdjsonWriter {
  private buffer = '';
  private scheduled = false;
  private waiting: Promise<void> | null = null;
  constructor(
    private readonly stream: Writable,
    private readonly highWater = 64 * 1024,
  ) {}

  /** Resolves at once unless the stream is full; await it to honour backpressure. */
  write(value: unknown): Promise<void> | undefined {
    return this.writeLine(JSON.stringify(value));
  }

  /** Writes one line of JSON text already serialized (no newline): saves a second stringify. */
  writeLine(json: string): Promise<void> | undefined {
    this.buffer += `${json}\n`;
    if (this.buffer.length >= this.highWater) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return this.waiting ?? undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.buffer.length > 0) {
      const chunk = this.buffer;
      this.buffer = '';
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

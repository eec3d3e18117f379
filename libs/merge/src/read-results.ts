import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { InputError, isErrnoException, validateResultRecord } from '@capi/core';
import { addResult, type MergeState } from './merge-state.js';

/**
 * Reads result records straight into the merge state. This is core's NDJSON reading
 * (docs/formats.md: `\r\n`, blank lines, line numbers, the journal's torn last line)
 * without an async generator step per line: merge reads millions of lines, and one
 * await per line cost more than the JSON.parse itself.
 */

export interface ReadOptions {
  /** Journals: a last line with no newline that does not parse is skipped and reported. */
  onTornTail?: (line: number) => void;
  maxLineLength?: number;
}

function take(state: MergeState, text: string, line: number, label: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(label, line, `malformed JSON: ${(err as Error).message}`);
  }
  const problem = validateResultRecord(value);
  if (problem) throw new InputError(label, line, problem);
  addResult(state, value as Record<string, unknown>);
}

export async function readResults(
  state: MergeState,
  input: AsyncIterable<Buffer | string> | Iterable<string>,
  label: string,
  opts: ReadOptions = {},
): Promise<void> {
  const maxLine = opts.maxLineLength ?? 64 * 1024 * 1024;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  for await (const chunk of input) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      line++;
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end > start) take(state, pending.slice(start, end), line, label);
      start = nl + 1;
      nl = pending.indexOf('\n', start);
    }
    pending = start === 0 ? pending : pending.slice(start);
    if (pending.length > maxLine) throw new InputError(label, line + 1, `line longer than ${maxLine} characters`);
  }
  pending += decoder.end();
  if (pending.trim() === '') return;
  line++;
  const text = pending.endsWith('\r') ? pending.slice(0, -1) : pending;
  if (opts.onTornTail) {
    try {
      JSON.parse(text);
    } catch {
      opts.onTornTail(line);
      return;
    }
  }
  take(state, text, line, label);
}

/** A result file is a journal: a torn last line is skipped with a warning; a missing file is an error. */
export async function readResultFile(
  state: MergeState,
  path: string,
  label: string,
  warn: (message: string) => void,
): Promise<void> {
  const onTornTail = (line: number) => warn(`${label}:${line}: torn last line ignored (a write cut short)`);
  try {
    // A journal of a batch is a few MB: one read and one decode beat a stream of chunks.
    // Bigger files are streamed so memory stays flat.
    const { size } = await stat(path);
    const input =
      size <= WHOLE_FILE_LIMIT
        ? [await readFile(path, 'utf8')]
        : createReadStream(path, { highWaterMark: 1024 * 1024 });
    await readResults(state, input as AsyncIterable<string | Buffer> | string[], label, { onTornTail });
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') throw new InputError(label, undefined, 'no such file');
    throw err;
  }
}

const WHOLE_FILE_LIMIT = 32 * 1024 * 1024;

/** Standard input is a stream, not a journal: every line must parse. */
export function readResultStream(state: MergeState, input: Readable, label = '<stdin>'): Promise<void> {
  return readResults(state, input, label);
}

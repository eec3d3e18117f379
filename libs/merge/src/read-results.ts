import { type FileHandle, open } from 'node:fs/promises';
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
  takeLast(state, pending, line, label, opts);
}

/** The text after the last newline: blank, a journal's torn last line, or one more record. */
function takeLast(state: MergeState, rest: string, line: number, label: string, opts: ReadOptions): void {
  if (rest.trim() === '') return;
  const text = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  if (opts.onTornTail) {
    try {
      JSON.parse(text);
    } catch {
      opts.onTornTail(line + 1);
      return;
    }
  }
  take(state, text, line + 1, label);
}

const CHUNK = 1024 * 1024;
const PIECE = 64 * 1024;

/** Takes every line of text, which ends with a newline; returns the last line number. */
function takeLines(state: MergeState, text: string, line: number, label: string): number {
  let start = 0;
  let nl = text.indexOf('\n');
  while (nl !== -1) {
    line++;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end > start) take(state, text.slice(start, end), line, label);
    start = nl + 1;
    nl = text.indexOf('\n', start);
  }
  return line;
}

/**
 * Reads a file in 1 MB chunks into one reused buffer and decodes whole lines about 64 KB
 * at a time. Decoding whole files made a large string per file that only a full garbage
 * collection frees: hundreds of MB of old-space garbage and page faults for a million
 * records; 64 KB strings die young. A line split by a chunk boundary is moved to the
 * buffer's start.
 */
export async function readResultBytes(
  state: MergeState,
  fh: FileHandle,
  label: string,
  opts: ReadOptions = {},
): Promise<void> {
  const maxLine = opts.maxLineLength ?? 64 * 1024 * 1024;
  let buf = Buffer.allocUnsafe(CHUNK);
  let len = 0;
  let line = 0;
  for (;;) {
    if (len === buf.length) {
      // One line fills the buffer: make room for it (up to the limit).
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
    if (bytesRead === 0) break;
    len += bytesRead;
    const view = buf.subarray(0, len);
    const lastNl = view.lastIndexOf(10);
    let start = 0;
    while (start <= lastNl) {
      // Whole lines, about 64 KB at a time, decoded into one short-lived string.
      let end = start + PIECE >= lastNl ? lastNl : view.lastIndexOf(10, start + PIECE);
      if (end < start) end = view.indexOf(10, start);
      line = takeLines(state, view.toString('utf8', start, end + 1), line, label);
      start = end + 1;
    }
    if (start > 0) {
      buf.copyWithin(0, start, len);
      len -= start;
    }
    if (len > maxLine) throw new InputError(label, line + 1, `line longer than ${maxLine} characters`);
  }
  takeLast(state, buf.toString('utf8', 0, len), line, label, opts);
}

/** A result file is a journal: a torn last line is skipped with a warning; a missing file is an error. */
export async function readResultFile(
  state: MergeState,
  path: string,
  label: string,
  warn: (message: string) => void,
): Promise<void> {
  const onTornTail = (line: number) => warn(`${label}:${line}: torn last line ignored (a write cut short)`);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') throw new InputError(label, undefined, 'no such file');
    throw err;
  }
  try {
    await readResultBytes(state, fh, label, { onTornTail });
  } finally {
    await fh.close();
  }
}

/** Standard input is a stream, not a journal: every line must parse. */
export function readResultStream(state: MergeState, input: Readable, label = '<stdin>'): Promise<void> {
  return readResults(state, input, label);
}

import type { Readable } from 'node:stream';
import { InputError, readJournal, readNdjson, validateResultRecord } from '@capi/core';
import { addResult, type MergeState } from './merge-state.js';

type Lines = AsyncIterable<{ value: unknown; line: number }>;

async function fold(state: MergeState, lines: Lines, label: string): Promise<void> {
  for await (const { value, line } of lines) {
    const problem = validateResultRecord(value);
    if (problem) throw new InputError(label, line, problem);
    addResult(state, value as Record<string, unknown>);
  }
}

/**
 * A result file is a journal: a torn last line (a write cut short by a crash) is skipped
 * with a warning; a bad line anywhere else stops the merge naming file and line.
 */
export async function readResultFile(
  state: MergeState,
  path: string,
  label: string,
  warn: (message: string) => void,
): Promise<void> {
  const lines = readJournal(path, {
    onTornTail: (line) => warn(`${label}:${line}: torn last line ignored (a write cut short)`),
  });
  await fold(state, relabel(lines, path, label), label);
}

/** Standard input is a stream, not a journal: every line must parse. */
export async function readResultStream(state: MergeState, input: Readable, label = '<stdin>'): Promise<void> {
  await fold(state, readNdjson(input, { source: label }), label);
}

/** readJournal names the absolute path in its errors; people gave a shorter one. */
async function* relabel(lines: Lines, path: string, label: string): Lines {
  try {
    yield* lines;
  } catch (err) {
    if (err instanceof InputError && err.source === path) {
      const prefix = err.line === undefined ? `${path}: ` : `${path}:${err.line}: `;
      throw new InputError(label, err.line, err.message.slice(prefix.length));
    }
    throw err;
  }
}

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError, isErrnoException, readNdjson, sniffSuite, validateTestRecord } from '@capi/core';
import { parse } from 'csv-parse';
import type { ExpectedTest } from './merge-state.js';
import { readLineBytes, withFile } from './read-results.js';

/**
 * The ids a suite names, from the suite CSV itself or capi-split's test records (NDJSON).
 * The format comes from the content, as in capi-split: a file's name says nothing (a
 * `suite.txt` may be either).
 */
export async function* readSuite(input: AsyncIterable<Buffer>, label: string): AsyncGenerator<ExpectedTest> {
  // Nothing at all reads as NDJSON: no ids.
  const { format, chunks } = await sniffSuite(input);
  yield* format === 'csv' ? suiteCsv(chunks, label) : suiteNdjson(chunks, label, null);
}

/**
 * A run folder's batch file: capi-split's test records, each id belonging to `batch`,
 * handed to `onTest` as each line is read. Cut into lines as the result journals are
 * (read-results.ts: no async step per line, short-lived strings): a launched run's merge
 * reads as many test records as results.
 */
export async function readBatchFile(
  path: string,
  label: string,
  batch: string | null,
  onTest: (t: ExpectedTest) => void,
): Promise<void> {
  await withFile(path, (read) =>
    readLineBytes(read, label, (text, line) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new InputError(label, line, `malformed JSON: ${(err as Error).message}`);
      }
      onTest(expectedOf(value, label, line, batch));
    }),
  );
}

/** Why a record is not a test record; the common mix-up (a result file as the suite) is named. */
function testRecordProblem(value: unknown): string | null {
  const problem = validateTestRecord(value);
  if (problem === null) return null;
  const v = value as Record<string, unknown> | null;
  const looksLikeResult = v !== null && typeof v === 'object' && 'status' in v && !('request' in v);
  return looksLikeResult
    ? `${problem}: this looks like a result record from capi-exec, not a test record (a suite is the CSV or capi-split's output)`
    : problem;
}

async function* suiteNdjson(
  input: AsyncIterable<Buffer | string>,
  label: string,
  batch: string | null,
): AsyncGenerator<ExpectedTest> {
  for await (const { value, line } of readNdjson(input, { source: label })) yield expectedOf(value, label, line, batch);
}

/** A test record's id and what the reports show of it; bad input is an InputError naming the line. */
function expectedOf(value: unknown, label: string, line: number, batch: string | null): ExpectedTest {
  const problem = testRecordProblem(value);
  if (problem) throw new InputError(label, line, problem);
  const v = value as { id: string; name?: string; tags?: string[]; enabled?: boolean; flow?: string; phase?: string };
  return {
    id: v.id,
    name: v.name ?? v.id,
    tags: v.tags ?? [],
    enabled: v.enabled ?? true,
    batch,
    flow: v.flow ?? null,
    phase: v.phase ?? null,
  };
}

const DISABLED = new Set(['no', 'false', '0', 'off']);

async function* suiteCsv(input: AsyncIterable<Buffer>, label: string): AsyncGenerator<ExpectedTest> {
  const parser = parse({
    columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
    info: true,
    bom: true,
    skip_empty_lines: true,
  });
  // pipeline, not pipe: an error reading the input must reach the loop below, not become
  // an unhandled 'error' event.
  pipeline(Readable.from(input), parser).catch(() => {});
  let checked = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      if (!checked && !('id' in record)) throw new InputError(label, 1, 'field "id": the suite has no id column');
      checked = true;
      const id = record.id?.trim() ?? '';
      if (id === '') throw new InputError(label, info.lines, 'field "id": empty');
      const tags = (record.tags ?? '')
        .split(';')
        .map((t) => t.trim())
        .filter(Boolean);
      const enabled = !DISABLED.has((record.enabled ?? '').trim().toLowerCase());
      const phase = (record.phase ?? '').trim().toLowerCase();
      yield {
        id,
        name: record.name?.trim() || id,
        tags,
        enabled,
        batch: null,
        flow: record.flow?.trim() || null,
        phase: phase === 'setup' || phase === 'teardown' ? phase : null,
      };
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    // csv-parse's own errors have CSV_ codes; anything else is a read error, not bad input.
    if (isErrnoException(err) && !err.code?.startsWith('CSV_')) throw err;
    const e = err as Error & { lines?: number };
    throw new InputError(label, e.lines, `malformed CSV: ${e.message}`);
  } finally {
    parser.destroy();
  }
}

import { createReadStream } from 'node:fs';
import { InputError, readNdjson, validateTestRecord } from '@capi/core';
import { parse } from 'csv-parse';
import type { ExpectedTest } from './merge-state.js';

/** The ids a suite names, from capi-split's test records (NDJSON) or the suite CSV itself. */
export function readSuite(path: string, label = path): AsyncGenerator<ExpectedTest> {
  return /\.csv$/i.test(path) ? readSuiteCsv(path, label) : readSuiteNdjson(path, label);
}

export async function* readSuiteNdjson(
  path: string,
  label: string,
  batch: string | null = null,
): AsyncGenerator<ExpectedTest> {
  for await (const { value, line } of readNdjson(createReadStream(path), { source: label })) {
    const problem = validateTestRecord(value);
    if (problem) throw new InputError(label, line, problem);
    const v = value as { id: string; name?: string; tags?: string[]; enabled?: boolean };
    yield { id: v.id, name: v.name ?? v.id, tags: v.tags ?? [], enabled: v.enabled ?? true, batch };
  }
}

const DISABLED = new Set(['no', 'false', '0', 'off']);

async function* readSuiteCsv(path: string, label: string): AsyncGenerator<ExpectedTest> {
  const parser = createReadStream(path).pipe(
    parse({
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      info: true,
      bom: true,
      skip_empty_lines: true,
    }),
  );
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
      yield { id, name: record.name?.trim() || id, tags, enabled, batch: null };
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const e = err as Error & { lines?: number };
    throw new InputError(label, e.lines, `malformed CSV: ${e.message}`);
  }
}

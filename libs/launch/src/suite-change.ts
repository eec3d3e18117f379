import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readNdjson, runPaths } from '@capi/core';
import { fileSha256, readBatchIndex } from './create-run.js';
import type { Manifest } from './manifest.js';
import { splitFlags } from './split-flags.js';
import { currentRecords, type SplitRecord } from './suite-records.js';

/** What differs between the tests of a run's batches and its suite file now. */
export interface SuiteChange {
  /** The suite file is gone (or not a file). */
  gone: boolean;
  added: string[];
  removed: string[];
  changed: string[];
  counts: { added: number; removed: number; changed: number };
}

/** A test as it runs: not its position (seq, source line), which moves when rows are added. */
export function testHash(r: SplitRecord): string {
  const what = [r.name, r.request, r.expect, r.timeoutMs, r.tags, r.enabled, r.vars];
  return createHash('sha1').update(JSON.stringify(what)).digest('base64');
}

/** The hash of each test in the run's batches, by id (only those `keep` takes, when given). */
export async function batchHashes(runDir: string, keep?: (id: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { batch } of (await readBatchIndex(runDir)).batches) {
    const file = runPaths(runDir).batchFile(batch);
    for await (const { value } of readNdjson(createReadStream(file), { source: file })) {
      const r = value as SplitRecord;
      if (!keep || keep(r.id)) out.set(r.id, testHash(r));
    }
  }
  return out;
}

const EXAMPLES = 5;
const note = (list: string[], id: string) => {
  if (list.length < EXAMPLES) list.push(id);
};

/**
 * null when the suite file is byte for byte the one the run was launched with (run.json
 * `suite.sha256`); else what changed, test by test, from a fresh split of the file.
 */
export async function suiteChange(runDir: string, m: Manifest, env: NodeJS.ProcessEnv): Promise<SuiteChange | null> {
  const file = m.suite.file;
  const info = await stat(file).catch(() => null);
  const empty = { added: [], removed: [], changed: [], counts: { added: 0, removed: 0, changed: 0 } };
  if (!info?.isFile()) return { gone: true, ...empty };
  if ((await fileSha256(file)) === m.suite.sha256) return null;
  const before = await batchHashes(runDir);
  const change: SuiteChange = { gone: false, ...empty, added: [], removed: [], changed: [] };
  for await (const r of currentRecords(file, splitFlags(m.options), env)) {
    const old = before.get(r.id);
    if (old === undefined) {
      change.counts.added++;
      note(change.added, r.id);
    } else {
      before.delete(r.id);
      if (old !== testHash(r)) {
        change.counts.changed++;
        note(change.changed, r.id);
      }
    }
  }
  for (const id of before.keys()) {
    change.counts.removed++;
    note(change.removed, id);
  }
  return change;
}

export const testsChanged = (c: SuiteChange) => c.gone || c.counts.added + c.counts.removed + c.counts.changed > 0;

function part(n: number, ids: string[], what: string): string | null {
  if (n === 0) return null;
  const more = n > ids.length ? ', …' : '';
  return `${n} ${n === 1 ? 'test' : 'tests'} ${what} (${ids.join(', ')}${more})`;
}

/** `2 tests added (T9, T10), 1 test removed (T3), 1 test changed (T5)`, or that the file is gone. */
export function describeSuiteChange(c: SuiteChange, m: Manifest): string {
  const name = basename(m.suite.file);
  if (c.gone) return `${m.suite.file} is gone since run ${m.id} was launched`;
  const parts = [
    part(c.counts.added, c.added, 'added'),
    part(c.counts.removed, c.removed, 'removed'),
    part(c.counts.changed, c.changed, 'changed'),
  ].filter((p) => p !== null);
  if (parts.length === 0) return `${name} changed since run ${m.id} was launched, but none of its tests did`;
  return `${name} changed since run ${m.id} was launched: ${parts.join(', ')}`;
}

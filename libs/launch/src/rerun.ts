import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  type AtomicStream,
  type BatchIndex,
  batchName,
  CapiError,
  createAtomicStream,
  ExitCode,
  makeDir,
  readNdjson,
  runPaths,
  writeFileAtomic,
} from '@capi/core';
import { readBatchIndex } from './create-run.js';
import { failedIds } from './results.js';
import { batchHashes, testHash } from './suite-change.js';
import type { SplitRecord } from './suite-records.js';

/** What a rerun took from the current suite: tests found, how many differ from the run's, ids no longer there. */
export interface RerunFromSuite {
  taken: number;
  changed: number;
  gone: string[];
  goneCount: number;
}

/** Every test record of a run's batches, in order. */
async function* batchRecords(runDir: string, batches: string[]): AsyncGenerator<SplitRecord> {
  for (const batch of batches) {
    const file = runPaths(runDir).batchFile(batch);
    for await (const { value } of readNdjson(createReadStream(file), { source: file })) yield value as SplitRecord;
  }
}

/**
 * Writes the batches of a new run holding only the tests of `fromRun` whose result was
 * failed or errored, renumbered from seq 0: from `fromRun`'s batches, or, when `current`
 * is given (the suite changed since), each in its current version, in the current order.
 */
export function failedBatches(
  fromRun: string,
  batchSize: number,
  current?: { records: () => AsyncIterable<SplitRecord>; report: (r: RerunFromSuite) => void },
) {
  return async (outDir: string): Promise<void> => {
    const batches = (await readBatchIndex(fromRun)).batches.map((b) => b.batch);
    const wanted = new Set<string>();
    for await (const id of failedIds(fromRun, batches)) wanted.add(id);
    if (wanted.size === 0) throw new CapiError(`${fromRun}: no failed or errored tests to run again`, ExitCode.ok);
    const old = current ? await batchHashes(fromRun, (id) => wanted.has(id)) : null;
    const source = current ? current.records() : batchRecords(fromRun, batches);
    const written = await writeWanted(source, wanted, batchSize, outDir, old);
    if (!current) return;
    const gone = [...wanted].filter((id) => !written.ids.has(id));
    const report = {
      taken: written.ids.size,
      changed: written.changed,
      gone: gone.slice(0, 5),
      goneCount: gone.length,
    };
    if (report.taken === 0)
      throw new CapiError(
        `${fromRun}: none of its ${wanted.size} failed or errored tests is in the suite any more (${report.gone.join(', ')}${gone.length > 5 ? ', …' : ''})`,
        ExitCode.badInput,
      );
    current.report(report);
  };
}

async function writeWanted(
  records: AsyncIterable<SplitRecord>,
  wanted: Set<string>,
  batchSize: number,
  outDir: string,
  old: Map<string, string> | null,
): Promise<{ ids: Set<string>; changed: number }> {
  const ids = new Set<string>();
  let changed = 0;
  await makeDir(outDir);
  const index: BatchIndex = { total: wanted.size, batchSize, batches: [] };
  const total = Math.ceil(wanted.size / batchSize);
  let out: AtomicStream | null = null;
  let seq = 0;
  const close = async () => {
    if (out) await out.commit();
    out = null;
  };
  for await (const rec of records) {
    if (!wanted.has(rec.id) || ids.has(rec.id)) continue;
    ids.add(rec.id);
    if (old && old.get(rec.id) !== testHash(rec)) changed++;
    if (seq % batchSize === 0) {
      await close();
      const name = batchName(index.batches.length + 1, total);
      out = await createAtomicStream(join(outDir, `${name}.ndjson`));
      index.batches.push({
        batch: name,
        file: `${name}.ndjson`,
        firstSeq: seq,
        lastSeq: seq,
        count: 0,
        firstId: rec.id,
        lastId: rec.id,
      });
    }
    const entry = index.batches.at(-1) as BatchIndex['batches'][number];
    Object.assign(entry, { lastSeq: seq, lastId: rec.id, count: entry.count + 1 });
    const stream = (out as AtomicStream | null)?.stream as AtomicStream['stream'];
    if (!stream.write(`${JSON.stringify({ ...rec, seq })}\n`)) await once(stream, 'drain');
    seq++;
  }
  await close();
  index.total = seq;
  await writeFileAtomic(join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return { ids, changed };
}

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

/**
 * Writes the batches of a new run holding only the tests of `fromRun` whose result was
 * failed or errored, in their original order, renumbered from seq 0.
 */
export function failedBatches(fromRun: string, batchSize: number) {
  return async (outDir: string): Promise<void> => {
    const batches = (await readBatchIndex(fromRun)).batches.map((b) => b.batch);
    const wanted = new Set<string>();
    for await (const id of failedIds(fromRun, batches)) wanted.add(id);
    if (wanted.size === 0) throw new CapiError(`${fromRun}: no failed or errored tests to run again`, ExitCode.ok);
    await makeDir(outDir);
    const index: BatchIndex = { total: wanted.size, batchSize, batches: [] };
    const total = Math.ceil(wanted.size / batchSize);
    let out: AtomicStream | null = null;
    let seq = 0;
    const close = async () => {
      if (out) await out.commit();
      out = null;
    };
    for (const batch of batches) {
      const file = runPaths(fromRun).batchFile(batch);
      for await (const { value } of readNdjson(createReadStream(file), { source: file })) {
        const rec = value as { id: string; seq: number };
        if (!wanted.has(rec.id)) continue;
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
    }
    await close();
    index.total = seq;
    await writeFileAtomic(join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  };
}

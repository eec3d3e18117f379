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
    const records = () => (current ? current.records() : batchRecords(fromRun, batches));
    const plan = await flowPlan(records(), wanted);
    const old = current ? await batchHashes(fromRun, (id) => wanted.has(id)) : null;
    const written = await writeWanted(records(), plan, batchSize, outDir, old);
    if (!current) return;
    const gone = [...wanted].filter((id) => !written.ids.has(id));
    const report = {
      // rows of a failed row's flow come along, but the count is of the failed tests found
      taken: wanted.size - gone.length,
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

/**
 * Flows (docs/capi-launch.md "Flows"): a failed row of a flow is run again with its whole
 * flow (its later rows need the values its earlier rows capture), and every new batch
 * carries the suite's setup rows first and its teardown rows last, as capi-split's do.
 */
interface RerunPlan {
  wanted: Set<string>;
  flows: Set<string>;
  setup: string;
  teardown: string;
}

async function flowPlan(records: AsyncIterable<SplitRecord>, wanted: Set<string>): Promise<RerunPlan> {
  const plan: RerunPlan = { wanted, flows: new Set(), setup: '', teardown: '' };
  const phaseIds = new Set<string>();
  for await (const rec of records) {
    if (rec.phase === 'setup' || rec.phase === 'teardown') {
      // every old batch file carries the same setup and teardown rows: once each
      if (phaseIds.has(rec.id)) continue;
      phaseIds.add(rec.id);
      plan[rec.phase] += `${JSON.stringify(rec)}\n`;
    } else if (typeof rec.flow === 'string' && wanted.has(rec.id)) plan.flows.add(rec.flow);
  }
  return plan;
}

const takes = (plan: RerunPlan, rec: SplitRecord) =>
  rec.phase === undefined && (plan.wanted.has(rec.id) || (typeof rec.flow === 'string' && plan.flows.has(rec.flow)));

async function writeWanted(
  records: AsyncIterable<SplitRecord>,
  plan: RerunPlan,
  batchSize: number,
  outDir: string,
  old: Map<string, string> | null,
): Promise<{ ids: Set<string>; changed: number }> {
  const ids = new Set<string>();
  let changed = 0;
  await makeDir(outDir);
  const index: BatchIndex = { total: plan.wanted.size, batchSize, batches: [] };
  const total = Math.ceil(plan.wanted.size / batchSize);
  let out: AtomicStream | null = null;
  let seq = 0;
  let inBatch = 0;
  let lastFlow: unknown = null;
  const write = async (text: string) => {
    const stream = (out as AtomicStream | null)?.stream as AtomicStream['stream'];
    if (text !== '' && !stream.write(text)) await once(stream, 'drain');
  };
  const close = async () => {
    if (out) {
      await write(plan.teardown);
      await out.commit();
    }
    out = null;
  };
  for await (const rec of records) {
    if (!takes(plan, rec) || ids.has(rec.id)) continue;
    ids.add(rec.id);
    if (old && plan.wanted.has(rec.id) && old.get(rec.id) !== testHash(rec)) changed++;
    const sameFlow = typeof rec.flow === 'string' && rec.flow === lastFlow;
    lastFlow = rec.flow ?? null;
    if (out === null || (inBatch >= batchSize && !sameFlow)) {
      await close();
      inBatch = 0;
      const name = batchName(index.batches.length + 1, total);
      out = await createAtomicStream(join(outDir, `${name}.ndjson`));
      await write(plan.setup);
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
    await write(`${JSON.stringify({ ...rec, seq })}\n`);
    seq++;
    inBatch++;
  }
  await close();
  index.total = seq;
  if (plan.setup !== '') index.setup = plan.setup.split('\n').length - 1;
  if (plan.teardown !== '') index.teardown = plan.teardown.split('\n').length - 1;
  await writeFileAtomic(join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return { ids, changed };
}

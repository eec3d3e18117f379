import { appendFileSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type BatchIndex,
  type BatchIndexEntry,
  batchName,
  batchSizes,
  FILE_MODE,
  makeDir,
  type TestRecord,
  writeFileAtomic,
} from '@capi/core';
import { makeTempFolder } from './aside-names.js';
import { batchFiles } from './batch-files.js';
import { holdingFolder, moveIntoPlace, recoverLeftovers, resolveTarget, targetState } from './replace-folder.js';
import { serializeTestRecord } from './serialize.js';

export interface WriteBatchesOptions {
  /**
   * Replace a folder that is not empty: the new batches and index.json take its place whole
   * (replace-folder.ts); its other files are carried over.
   */
  force?: boolean;
  /**
   * `--max-batch-size`: batches start at `size` tests and double every 100 batches (core batchSizes)
   * up to this many, so a large suite is not thousands of small batches (each costs its
   * claim, journal, lock, heartbeat and log). Absent or not above `size`: every batch `size`.
   */
  maxSize?: number;
  /**
   * The suite's size in bytes, when known (a file): a small suite's files are all written on
   * this thread, with no file thread started (batch-files.ts THREAD_FROM_BYTES).
   */
  inputBytes?: number;
  /**
   * Hears the batch-file thread running, once (a large suite only). Starting a worker's
   * isolate set V8's semi-space growth factor back to its default (Node 20), so a heap flag
   * the process set at run time (capi-split's young-generation.ts) is set again from here.
   */
  onThreadOnline?: () => void;
  /** Hears each batch that grew past its size to keep a flow whole, once, when it is done. */
  onOversize?: (entry: BatchIndexEntry, flow: string, size: number) => void;
  /**
   * A stop (capi-split's SIGINT, SIGTERM, SIGHUP): its reason is thrown before the folder is
   * moved into place. A stop cuts the reading, but one that comes once the input has ended
   * (the last files written, the names widened) would otherwise go unheard: the split
   * finished with exit 0, its folder in place.
   */
  signal?: AbortSignal;
  /** Hears what is done with folders earlier splits into `dir` left beside it (leftovers.ts `clearLeftovers`). */
  onLeftover?: (text: string) => void;
}

/**
 * Writes records into `batch_0001.ndjson`, … of `size` records each (growing to
 * `options.maxSize`) plus `index.json`
 * (docs/run-folder.md). Everything is written into a temporary folder next to `dir` and
 * moved into place whole at the end (replace-folder.ts), so an error leaves no partial output
 * behind and `dir` is never half replaced. `records` may
 * also come in arrays (splitSuiteBatches), which saves an await per record.
 */
export async function writeBatches(
  records: AsyncIterable<TestRecord> | AsyncIterable<TestRecord[]>,
  dir: string,
  size: number,
  options: WriteBatchesOptions = {},
): Promise<BatchIndex> {
  if (!Number.isSafeInteger(size) || size < 1)
    throw new RangeError(`batch size must be a whole number >= 1 (got ${size})`);
  const target = await resolveTarget(dir);
  const force = options.force ?? false;
  const note = options.onLeftover ?? (() => {});
  await makeDir(dirname(target));
  await holdingFolder(target, note, () => recoverLeftovers(target, note), options.signal);
  await targetState(target, dir, force);
  const temp = await makeTempFolder(target);
  try {
    const sizeOf = batchSizes(size, options.maxSize);
    const { entries: batches, setup, teardown } = await writeFiles(records, temp, sizeOf, options);
    const index: BatchIndex = { total: batches.reduce((n, b) => n + b.count, 0), batchSize: size, batches };
    if (options.maxSize !== undefined && options.maxSize > size) index.maxBatchSize = options.maxSize;
    if (setup > 0) index.setup = setup;
    if (teardown > 0) index.teardown = teardown;
    await writeFileAtomic(join(temp, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    options.signal?.throwIfAborted();
    await moveIntoPlace(temp, target, dir, force, note, options.signal);
    return index;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A batch's text is sent to be written when it is done, or in pieces of about WRITE_AT as
 * it grows (a large --batch-size): a string over 128 KiB would land in V8's large-object
 * space, which only a full GC frees. 64 KiB holds a whole batch of 100 typical records
 * (about 35 KB), so such a batch is one piece: one message to the file thread.
 */
const WRITE_AT = 64 * 1024;

interface Written {
  entries: BatchIndexEntry[];
  setup: number;
  teardown: number;
}

/**
 * The batch files. Flows (docs/capi-split.md "Flows"): a new batch starts only between
 * flows, so a batch may hold more than `size` tests; setup rows (first in the stream) open
 * every batch and teardown rows (last in the stream) close every batch, since each process
 * that runs a batch logs in for itself. `count`, `firstSeq`… describe the tests alone.
 */
async function writeFiles(
  records: AsyncIterable<TestRecord | TestRecord[]>,
  temp: string,
  sizeOf: (n: number) => number,
  { onOversize, inputBytes, onThreadOnline }: WriteBatchesOptions,
): Promise<Written> {
  const entries: BatchIndexEntry[] = [];
  const files = batchFiles(FILE_MODE, inputBytes, onThreadOnline);
  let entry: BatchIndexEntry | null = null;
  let text = '';
  let head = '';
  let tail = '';
  let setup = 0;
  let teardown = 0;
  let lastFlow: string | null = null;
  let oversizeFlow: string | null = null;
  const endBatch = async () => {
    if (entry === null) return;
    const done = entry;
    entry = null;
    const wrote = files.write(text);
    text = '';
    if (wrote) await wrote;
    const closed = files.close();
    if (closed) await closed;
    if (oversizeFlow !== null) onOversize?.(done, oversizeFlow, sizeOf(entries.length));
    oversizeFlow = null;
  };
  try {
    for await (const item of records) {
      for (const record of Array.isArray(item) ? item : [item]) {
        if (record.phase === 'setup') {
          if (entries.length > 0) throw new RangeError('a setup record after the first test');
          setup++;
          head += `${serializeTestRecord(record)}\n`;
          continue;
        }
        if (record.phase === 'teardown') {
          await endBatch();
          teardown++;
          tail += `${serializeTestRecord(record)}\n`;
          continue;
        }
        const flow = record.flow ?? null;
        const sameFlow = flow !== null && flow === lastFlow;
        lastFlow = flow;
        const size = sizeOf(Math.max(1, entries.length));
        if (entry === null || (entry.count >= size && !sameFlow)) {
          await endBatch();
          text = head;
          entry = newEntry(entries.length + 1, record);
          entries.push(entry);
          files.open(join(temp, entry.file));
        } else if (entry.count >= size && flow !== null) oversizeFlow = flow;
        entry.count++;
        entry.lastSeq = record.seq;
        entry.lastId = record.id;
        text += `${serializeTestRecord(record)}\n`;
        if (text.length >= WRITE_AT) {
          const wrote = files.write(text);
          text = '';
          if (wrote) await wrote;
        }
      }
    }
    await endBatch();
    await files.done();
  } catch (err) {
    // Nothing more is written once abort settles, so the caller can remove the folder.
    await files.abort();
    throw err;
  }
  if (tail !== '') for (const e of entries) appendFileSync(join(temp, e.file), tail);
  return { entries: widenNames(entries, temp), setup, teardown };
}

function newEntry(n: number, first: TestRecord): BatchIndexEntry {
  const batch = batchName(n);
  return {
    batch,
    file: `${batch}.ndjson`,
    firstSeq: first.seq,
    lastSeq: first.seq,
    count: 0,
    firstId: first.id,
    lastId: first.id,
  };
}

/**
 * Past 9999 batches the numbers grow wider so that names still sort; known only at the end.
 * Renamed synchronously: nothing else is under way by then, and an awaited rename per file
 * (a promise and a thread-pool hand-off each) cost 0.35-0.37 s of CPU for 10,000 files
 * against 0.14-0.16 s (measured apart, renames in one folder).
 */
function widenNames(entries: BatchIndexEntry[], temp: string): BatchIndexEntry[] {
  if (batchName(1, entries.length) === batchName(1)) return entries;
  for (const [i, entry] of entries.entries()) {
    const batch = batchName(i + 1, entries.length);
    renameSync(join(temp, entry.file), join(temp, `${batch}.ndjson`));
    entry.batch = batch;
    entry.file = `${batch}.ndjson`;
  }
  return entries;
}

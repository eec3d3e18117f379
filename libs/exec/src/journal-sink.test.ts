import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { normalizeTestRecord, openJournal } from '@capi/core';
import { journalSink } from './execute.js';
import type { JournalSession } from './journal-session.js';
import { type ExecResult, makeResult, resultJson } from './result.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const result = (id: string): ExecResult =>
  makeResult(
    normalizeTestRecord({ id, request: { method: 'GET', url: `/${id}` } }, 0),
    {
      status: 'passed',
      attempts: 1,
      startedAt: Date.UTC(2026, 11, 7, 6, 0, 0),
      durationMs: 1,
      response: { status: 200, bytes: 2 },
      failures: [],
      error: null,
    },
    { batch: null, worker: null, runId: null, shard: null },
  );

/** A real journal behind the session's one method the sink uses. */
async function session(fsync = false): Promise<{ session: JournalSession; path: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'capi-journal-sink-'));
  dirs.push(dir);
  const path = join(dir, 'j.ndjson');
  const journal = await openJournal(path, { fsync });
  const s = { append: (json: string) => journal.appendLine(json) } as unknown as JournalSession;
  return { session: s, path, close: () => journal.close() };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const noFailure = (err: unknown) => assert.fail(`no failure expected: ${String(err)}`);

test("a result is taken at once: the lane goes on before the turn's write, then the journal, then stdout, in order", async () => {
  const j = await session();
  const seen: string[] = [];
  const sink = journalSink(j.session, (json) => void seen.push(json), false);
  const a = result('a');
  const b = result('b');
  assert.equal(sink(a, noFailure), undefined);
  assert.equal(sink(b, noFailure), undefined);
  // Queued, not yet written, and stdout has nothing before the journal has it.
  assert.equal(readFileSync(j.path, 'utf8'), '');
  assert.deepEqual(seen, []);
  await turn();
  assert.equal(await readFile(j.path, 'utf8'), `${resultJson(a)}\n${resultJson(b)}\n`);
  assert.deepEqual(seen, [resultJson(a), resultJson(b)]);
  await j.close();
});

test('while stdout is full the lanes wait for the write and stdout; once it drains they are taken at once again', async () => {
  const j = await session();
  let drain: () => void = () => {};
  const full = new Promise<void>((resolve) => {
    drain = resolve;
  });
  let stdoutFull = true;
  const sink = journalSink(j.session, () => (stdoutFull ? full : undefined), false);
  // The first result finds stdout with room: taken; its write to stdout then finds it full.
  assert.equal(sink(result('a'), noFailure), undefined);
  await turn();
  const held = sink(result('b'), noFailure);
  assert.ok(held instanceof Promise, 'a result while stdout is full is waited for');
  let settled = false;
  void held.then(() => {
    settled = true;
  });
  await turn();
  await turn();
  assert.equal(settled, false, 'the lane waits until stdout drains');
  stdoutFull = false;
  drain();
  await held;
  await turn();
  assert.equal(sink(result('c'), noFailure), undefined);
  await j.close();
});

test('--fsync: the lane waits for the line on disk', async () => {
  const j = await session(true);
  const sink = journalSink(j.session, () => undefined, true);
  const held = sink(result('a'), noFailure);
  assert.ok(held instanceof Promise);
  await held;
  assert.equal(await readFile(j.path, 'utf8'), `${resultJson(result('a'))}\n`);
  await j.close();
});

test('a failed write of a taken result reaches `failed`, and stdout never gets it', async () => {
  const refused = new Error('cannot write j.ndjson: no space left on the device');
  const s = { append: () => Promise.reject(refused) } as unknown as JournalSession;
  const seen: string[] = [];
  const failures: unknown[] = [];
  const sink = journalSink(s, (json) => void seen.push(json), false);
  assert.equal(
    sink(result('a'), (err) => failures.push(err)),
    undefined,
  );
  await turn();
  assert.deepEqual(failures, [refused]);
  assert.deepEqual(seen, []);
});

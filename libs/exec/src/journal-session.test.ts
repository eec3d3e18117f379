import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { journalLockPath, journalMetaPath, normalizeTestRecord, type TestRecord } from '@capi/core';
import { fingerprint } from './fingerprint.js';
import { type JournalSessionInput, openJournalSession } from './journal-session.js';
import { createLiveState } from './live-state.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const rec = (id: string, url = '/x'): TestRecord => normalizeTestRecord({ id, request: { method: 'GET', url } }, 0);

/** The records in chunks of two, as the run's reader hands them on. */
async function* from(records: TestRecord[]): AsyncGenerator<TestRecord[]> {
  for (let i = 0; i < records.length; i += 2) yield records.slice(i, i + 2);
}

async function all(records: AsyncIterable<TestRecord[]>): Promise<string[]> {
  const ids: string[] = [];
  for await (const chunk of records) for (const r of chunk) ids.push(r.id);
  return ids;
}

async function input(over: Partial<JournalSessionInput> = {}): Promise<JournalSessionInput> {
  const dir = await mkdtemp(join(tmpdir(), 'capi-session-'));
  dirs.push(dir);
  return {
    path: join(dir, 'results', 'j.ndjson'),
    fsync: false,
    force: false,
    made: { shard: null, batch: 'b1', baseUrl: 'http://a.test' },
    reread: null,
    log: () => {},
    ...over,
  };
}

const line = (r: TestRecord, status: string) => JSON.stringify({ id: r.id, status, fp: fingerprint(r) });

test('a session holds the lock and writes the meta; a second session resumes: done ids skipped and counted', async () => {
  const base = await input();
  const first = await openJournalSession(base);
  assert.ok(existsSync(journalLockPath(base.path)));
  assert.equal(JSON.parse(await readFile(journalMetaPath(base.path), 'utf8')).baseUrl, 'http://a.test');
  await assert.rejects(openJournalSession(base), { exitCode: 3 }, 'one capi-exec per journal');
  await first.append(line(rec('a'), 'passed'));
  await first.append(line(rec('b'), 'failed'));
  await first.close();
  assert.equal(existsSync(journalLockPath(base.path)), false, 'close releases the lock');

  const logs: string[] = [];
  const again = await openJournalSession({ ...base, log: (l) => logs.push(l) });
  assert.deepEqual([...again.done.keys()], ['a', 'b']);
  const live = createLiveState(1);
  assert.deepEqual(await all(again.pending(from([rec('a'), rec('b'), rec('c')]), live)), ['c']);
  assert.equal(live.resumed, 2);
  assert.equal(live.resumedNotPassed, 1);
  assert.equal(again.done.size, 0, 'every journaled id was met');
  assert.match(logs.join('\n'), /resuming: 2 tests/);
  await again.close();
});

test('a changed test is refused (exit 2) before anything runs, and the lock is released', async () => {
  const base = await input();
  const first = await openJournalSession(base);
  await first.append(line(rec('a'), 'passed'));
  await first.close();
  const changed = [rec('a', '/other')];
  await assert.rejects(openJournalSession({ ...base, reread: () => from(changed) }), {
    exitCode: 2,
    message: /cannot resume: 1 finished test changed/,
  });
  assert.equal(existsSync(journalLockPath(base.path)), false);
  // Without a pre-read (stdin), the change is refused when the record arrives.
  const again = await openJournalSession(base);
  await assert.rejects(all(again.pending(from(changed), createLiveState(1))), { exitCode: 2 });
  await again.close();
});

test('a journal path through a file is one "cannot open" error naming it', async () => {
  const base = await input();
  const first = await openJournalSession(base);
  await first.close();
  const path = join(base.path, 'inside.ndjson');
  await assert.rejects(openJournalSession({ ...base, path }), (err: NodeJS.ErrnoException) => {
    assert.equal(err.message, `cannot open ${path}`);
    assert.equal(err.code, 'ENOTDIR');
    return true;
  });
});

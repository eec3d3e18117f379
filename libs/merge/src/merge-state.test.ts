import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addExpected, addResult, createMergeState } from './merge-state.js';

const rec = (id: string, status: string, startedAt: string | undefined, extra: Record<string, unknown> = {}) => ({
  id,
  status,
  attempts: 1,
  ...(startedAt ? { startedAt } : {}),
  durationMs: 10,
  ...extra,
});

test('the later start wins even when it is read first; attempts add up; failed then passed is flaky', () => {
  const s = createMergeState();
  addResult(s, rec('A', 'passed', '2026-01-01T10:00:05Z', { durationMs: 5 }));
  addResult(s, rec('A', 'failed', '2026-01-01T10:00:01Z', { attempts: 1 }));
  const a = s.tests.get('A')!;
  assert.equal(a.status, 'passed');
  assert.equal(a.durationMs, 5);
  assert.equal(a.attempts, 2);
  assert.equal(a.records, 2);
  assert.equal(a.flaky, true);
  assert.equal(s.superseded, 1);
});

test('without start times the record read later wins', () => {
  const s = createMergeState();
  addResult(s, rec('B', 'passed', undefined));
  addResult(s, rec('B', 'failed', undefined, { failures: [{ check: 'status', expected: '2xx', actual: '500' }] }));
  const b = s.tests.get('B')!;
  assert.equal(b.status, 'failed');
  assert.equal(b.flaky, false);
  assert.deepEqual(b.failures, [{ check: 'status', expected: '2xx', actual: '500' }]);
});

test('a pass that needed retries is flaky; a plain pass is not', () => {
  const s = createMergeState();
  addResult(s, rec('C', 'passed', '2026-01-01T10:00:00Z', { attempts: 3 }));
  addResult(s, rec('D', 'passed', '2026-01-01T10:00:00Z'));
  assert.equal(s.tests.get('C')!.flaky, true);
  assert.equal(s.tests.get('D')!.flaky, false);
});

test('suite ids stay missing until a result comes; disabled ones are skipped; order is suite order', () => {
  const s = createMergeState();
  addExpected(s, { id: 'X', name: 'x', tags: ['t'], batch: 'batch_0001' });
  addExpected(s, { id: 'Y', enabled: false });
  addExpected(s, { id: 'Z' });
  addResult(s, rec('Z', 'passed', undefined));
  addResult(s, rec('EXTRA', 'passed', undefined));
  assert.deepEqual(
    [...s.tests.values()].map((t) => [t.id, t.status]),
    [
      ['X', 'missing'],
      ['Y', 'skipped'],
      ['Z', 'passed'],
      ['EXTRA', 'passed'],
    ],
  );
  assert.equal(s.tests.get('X')!.batch, 'batch_0001');
  assert.equal(s.expected, 3);
});

for (const [where, spoolInMemory] of [
  ['in memory', undefined],
  ['on disk', 256],
] as const) {
  test(`a field a winning record lacks keeps its earlier value (row text ${where})`, () => {
    const s = createMergeState({ spoolInMemory, csv: true });
    addExpected(s, { id: 'N', name: 'from the suite', tags: ['s'] });
    addResult(s, rec('N', 'passed', '2026-01-01T10:00:00.000Z', { name: '' }));
    addResult(s, rec('R', 'failed', '2026-01-01T10:00:00.000Z', { runId: 'run1', worker: 3, shard: '1/2', name: 'r' }));
    addResult(s, rec('R', 'passed', '2026-01-01T10:00:01.000Z', { shard: null }));
    for (let i = 0; i < 50; i++) addResult(s, rec(`F${i}`, 'passed', undefined, { name: `filler ${i}` }));
    const n = s.tests.get('N')!;
    assert.deepEqual([n.name, n.status, n.tags], ['from the suite', 'passed', ['s']]);
    const r = s.tests.get('R')!;
    assert.deepEqual(
      [r.name, r.runId, r.worker, r.shard, r.status, r.attempts, r.records, r.flaky],
      ['r', 'run1', 3, '1/2', 'passed', 2, 2, true],
    );
    assert.equal(s.tests.spool.onDisk, spoolInMemory !== undefined);
    s.tests.close();
  });
}

test('a batch named after the suite row was written rewrites its text; rendered CSV equals CSV rendered later', () => {
  const withCsv = createMergeState({ csv: true });
  const without = createMergeState();
  for (const s of [withCsv, without]) {
    addExpected(s, { id: 'X', name: '=cmd()', tags: ['a', 'b'] });
    addExpected(s, { id: 'X', batch: 'batch_0002' });
    addResult(
      s,
      rec('Y', 'failed', '2026-01-01T10:00:00.000Z', {
        name: 'with, comma "and" quote',
        failures: [{ check: 'status', expected: '2xx', actual: '500' }],
        response: { status: 500, bytes: 12 },
      }),
    );
    addResult(s, rec('Z', 'error', undefined, { error: { code: 'ETIMEDOUT', message: 'line\nbreak' }, attempts: 0 }));
  }
  assert.equal(withCsv.tests.get('X')!.batch, 'batch_0002');
  assert.equal(withCsv.tests.get('X')!.status, 'missing');
  for (let i = 0; i < 3; i++) {
    assert.equal(withCsv.tests.csvText(i), without.tests.csvText(i));
    assert.equal(withCsv.tests.recordText(i), without.tests.recordText(i));
  }
  assert.match(withCsv.tests.csvText(0), /^X,'=cmd\(\),missing,,,0,missing: no result recorded,,batch_0002,a;b,\n$/);
  assert.match(withCsv.tests.csvText(1), /^Y,"with, comma ""and"" quote",failed,500,10,1,/);
});

test('suite rows are rendered only when read: a result replaces them unrendered, and one read shows what was rendered before', () => {
  const s = createMergeState({ csv: true, spoolInMemory: 256 });
  for (let i = 0; i < 100; i++) addExpected(s, { id: `T${i}`, tags: ['t'], batch: 'b1' });
  addExpected(s, { id: 'N', name: 'named "row"', tags: ['x'], enabled: false });
  // only the name that is not the id is in the spool yet
  assert.ok(s.tests.spool.size < 64, `spool holds ${s.tests.spool.size} bytes`);
  for (let i = 0; i < 98; i++) addResult(s, rec(`T${i}`, 'passed', '2026-01-01T10:00:00.000Z', { name: `T${i}` }));
  const written = s.tests.spool.size;
  // read back: rendered now, as addExpected rendered them before (row-text.ts's own rendering)
  const missing = s.tests.indexOf('T99') as number;
  assert.match(s.tests.csvText(missing), /^T99,T99,missing,,,0,missing: no result recorded,,b1,t,\n$/);
  const named = s.tests.get('N')!;
  assert.deepEqual([named.name, named.status, named.tags, named.batch], ['named "row"', 'skipped', ['x'], null]);
  assert.equal(
    s.tests.recordText(s.tests.indexOf('N') as number),
    '{"id":"N","name":"named \\"row\\"","status":"skipped","attempts":0,"startedAt":null,"durationMs":0,"response":null,"failures":[],"error":null,"batch":null,"worker":null,"runId":null,"tags":["x"],"shard":null,"flaky":false,"records":0}',
  );
  assert.ok(s.tests.spool.size > written);
  // a result for a suite row read once replaces its rendered text
  addResult(s, rec('T98', 'failed', '2026-01-01T10:00:00.000Z', { name: 'T98' }));
  assert.equal(s.tests.get('T98')!.status, 'failed');
  s.tests.close();
});

test("the winning record's host is the test's host; a later record without one names none", async () => {
  const { toResultRecord } = await import('./merged-test.js');
  const s = createMergeState();
  addResult(s, rec('H', 'failed', '2026-01-01T10:00:01Z', { host: 'alpha' }));
  addResult(s, rec('H', 'passed', '2026-01-01T10:00:05Z', { host: 'ci@beta:2222' }));
  addResult(s, rec('L', 'passed', '2026-01-01T10:00:01Z', { host: 'alpha' }));
  addResult(s, rec('L', 'passed', '2026-01-01T10:00:09Z'));
  const h = s.tests.get('H')!;
  assert.equal(h.host, 'ci@beta:2222');
  assert.equal(toResultRecord(h).host, 'ci@beta:2222');
  const l = s.tests.get('L')!;
  assert.equal(l.host, null);
  assert.equal('host' in toResultRecord(l), false);
});

test('report rows as bytes are the rows as text, byte for byte, from memory and from the spool file, with and without CSV', () => {
  for (const csv of [true, false]) {
    // A 4 KB in-memory spool: most rows are read back from its temp file.
    const s = createMergeState({ csv, spoolInMemory: 4096 });
    for (let i = 0; i < 300; i++) {
      const extra = {
        name: i % 3 === 0 ? `tëst ✓ "${i}", =1+1` : `test ${i}`,
        tags: ['a', `t${i % 4}`],
        batch: `batch_${i % 5}`,
        ...(i % 7 === 0 ? { failures: [{ check: 'status', expected: '2xx', actual: '500 ✗' }] } : {}),
      };
      addResult(s, rec(`T${i}`, i % 7 === 0 ? 'failed' : 'passed', '2026-01-01T10:00:00Z', extra));
      // Some ids again: their counts change after their text was written.
      if (i % 11 === 0) addResult(s, rec(`T${i}`, 'passed', '2026-01-01T10:00:01Z', { ...extra, attempts: 2 }));
    }
    const t = s.tests;
    assert.equal(t.spool.onDisk, true);
    for (let i = 0; i < t.size; i++) {
      assert.equal(t.recordBytes(i, ',\n', 'x').toString(), `,\n${t.recordText(i)}x`);
      assert.equal(t.csvBytes(i).toString(), t.csvText(i));
    }
    t.close();
  }
});

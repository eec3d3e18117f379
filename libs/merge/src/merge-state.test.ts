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

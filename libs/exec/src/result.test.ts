import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTestRecord, type TestRecord } from '@capi/core';
import { type ExecResult, makeResult, type Outcome, type ResultOrigin, resultJson } from './result.js';

const rec = (over: Record<string, unknown> = {}): TestRecord =>
  normalizeTestRecord({ id: 'T1', request: { method: 'GET', url: '/x' }, ...over }, 0);

const outcome = (over: Partial<Outcome> = {}): Outcome => ({
  status: 'passed',
  attempts: 1,
  startedAt: Date.UTC(2026, 11, 6, 20, 0, 0, 123),
  durationMs: 1.2345,
  response: { status: 200, bytes: 27 },
  failures: [],
  error: null,
  ...over,
});

const origin: ResultOrigin = { batch: 'batch_0001', worker: 2, runId: 'capi_run', shard: null };

function same(r: ExecResult): void {
  assert.equal(resultJson(r), JSON.stringify(r));
}

test('resultJson writes what JSON.stringify writes, byte for byte, for every shape of result', () => {
  const ids = [
    'T1',
    'a "quoted" id',
    'back\\slash',
    'tab\there',
    'nul\u0000',
    'ü and 日本',
    'emoji 😀',
    'lone \ud800',
    '\u2028',
    '',
  ];
  for (const id of ids) {
    same(makeResult(rec({ id: id || 'x', name: id }), outcome(), origin, 'abcdef01.12345678'));
    same(makeResult(rec({ id: id || 'x', tags: ['a', id || 'b'] }), outcome(), origin, '00d7c091.dab2885c'));
  }
  for (const durationMs of [0, -0, 0.05, 1.25, 123456789.1, 1e21, Number.NaN, Number.POSITIVE_INFINITY])
    same(makeResult(rec(), outcome({ durationMs }), origin, 'f.f'));
  same(
    makeResult(
      rec(),
      outcome({ response: null, status: 'error', error: { code: 'TIMEOUT', message: 'no' } }),
      origin,
      'a.b',
    ),
  );
  same(makeResult(rec(), outcome({ response: null }), origin, 'a.b'));
  same(makeResult(rec(), outcome({ response: { status: 200, bytes: 10, decodedBytes: 40 } }), origin, 'a.b'));
  same(
    makeResult(
      rec(),
      outcome({ status: 'failed', failures: [{ check: 'status', expected: '200', actual: '500' }] }),
      origin,
      'a.b',
    ),
  );
  same(makeResult(rec(), outcome(), { batch: null, worker: null, runId: null, shard: '2/4' }, 'a.b'));
  same(makeResult(rec(), outcome(), { ...origin, host: 'h1' }, 'a.b'));
  same(makeResult(rec({ flow: 'f', phase: 'setup' }), outcome(), origin, 'a.b', 2));
  same(makeResult(rec(), outcome({ status: 'skipped', attempts: 0, response: null }), origin));
  const withDebug = makeResult(rec(), outcome({ status: 'failed' }), origin, 'a.b');
  withDebug.debug = {
    request: { method: 'GET', url: '/x', headers: [], body: null, bodyBytes: 0, bodyCut: false },
    response: null,
  } as unknown as ExecResult['debug'];
  same(withDebug);
  // a key it does not know is written too (through JSON.stringify)
  same(Object.assign(makeResult(rec(), outcome(), origin, 'a.b'), { later: 1 }) as ExecResult);
  // a missing field is left out, as JSON.stringify leaves undefined out
  same({ ...makeResult(rec(), outcome(), origin, 'a.b'), shard: undefined } as ExecResult);
});

test('resultJson writes the common result itself, not through JSON.stringify', (t) => {
  const r = makeResult(rec(), outcome(), origin, 'abcdef01.12345678');
  const stringify = t.mock.method(JSON, 'stringify');
  const text = resultJson(r);
  assert.equal(stringify.mock.callCount(), 0);
  stringify.mock.restore();
  assert.equal(text, JSON.stringify(r));
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(r)));
});

test('resultJson follows a change of batch, worker, run id or shard from one result to the next (--serve runs batch after batch)', () => {
  const origins: ResultOrigin[] = [
    origin,
    { batch: 'batch_0002', worker: 2, runId: 'capi_run', shard: null },
    { batch: 'batch_0002', worker: 3, runId: 'capi_run', shard: '1/2' },
    { batch: null, worker: null, runId: null, shard: null },
    { batch: 'b"q', worker: null, runId: 'r\\1', shard: '2/2' },
    origin,
  ];
  for (const o of origins) {
    same(makeResult(rec(), outcome(), o, 'abcdef01.12345678'));
    same(makeResult(rec({ id: 'T2', tags: ['x'] }), outcome({ status: 'failed' }), o, '00d7c091.dab2885c'));
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cut, runChecks } from './checks.js';
import { jsonContains } from './json-match.js';
import { statusMatcher } from './status-pattern.js';

const res = (status: number, text: string, durationMs = 10) => ({ status, text, truncated: false, durationMs });
const exp = (over: Partial<{ status: string; body: string | null; json: string | null; maxMs: number | null }>) => ({
  status: '2xx',
  body: null,
  json: null,
  maxMs: null,
  ...over,
});

test('status patterns: exact, class, lists and mixes', () => {
  const m = statusMatcher('2xx,404') as (s: number) => boolean;
  assert.equal(m(200), true);
  assert.equal(m(299), true);
  assert.equal(m(404), true);
  assert.equal(m(403), false);
  assert.equal((statusMatcher('200, 201') as (s: number) => boolean)(201), true);
  assert.match(statusMatcher('2xy') as string, /bad status pattern/);
});

test('body substring and /regex/flags pass and fail', async () => {
  assert.deepEqual(await runChecks(exp({ body: 'item-1' }), res(200, '{"name":"item-1"}')), []);
  assert.deepEqual(await runChecks(exp({ body: '/ITEM-\\d+/i' }), res(200, 'item-42')), []);
  const [f] = await runChecks(exp({ body: '/^x/' }), res(200, 'abc'));
  assert.equal(f?.check, 'body');
  assert.equal(f?.actual, 'abc');
  assert.throws(() => runChecks(exp({ body: '/(/' }), res(200, 'x')), /bad regular expression/);
});

test('checks decided on the main thread give a plain array, not a promise', () => {
  assert.deepEqual(runChecks(exp({ body: 'item-1' }), res(200, '{"name":"item-1"}')), []);
  const failed = runChecks(exp({ body: '/^x/' }), res(500, 'abc'));
  assert.ok(Array.isArray(failed));
  assert.deepEqual(
    failed.map((f) => f.check),
    ['status', 'body'],
  );
});

test('json deep partial: objects, positional arrays, scalars', async () => {
  const actual = { a: 1, b: { c: [1, 2, 3], d: 'x' }, e: null };
  assert.equal(jsonContains({ b: { c: [1, 2] } }, actual), null);
  assert.equal(jsonContains({ e: null, b: {} }, actual), null);
  assert.deepEqual(jsonContains({ b: { c: [2] } }, actual)?.path, '$.b.c[0]');
  assert.deepEqual(jsonContains({ a: '1' }, actual)?.path, '$.a');
  assert.equal(jsonContains({ z: 1 }, actual)?.missing, true);
  assert.equal(jsonContains([1, 2, 3, 4], [1, 2, 3])?.path, '$[3]');
  const [f] = await runChecks(exp({ json: '{"b":{"d":"y"}}' }), res(200, JSON.stringify(actual)));
  assert.deepEqual(f, { check: 'json', expected: '$.b.d = "y"', actual: '$.b.d = "x"' });
  const [g] = await runChecks(exp({ json: '{"a":1}' }), res(200, 'not json'));
  assert.match(g?.actual ?? '', /body is not JSON/);
});

test('max_ms fails a slow answer, every failure is listed', async () => {
  const fails = await runChecks(exp({ status: '200', body: 'zzz', maxMs: 5 }), res(404, 'abc', 12.34));
  assert.deepEqual(
    fails.map((f) => f.check),
    ['status', 'body', 'max_ms'],
  );
  assert.equal(fails[2]?.actual, '12.3 ms');
});

test('actual values are cut to a readable length', async () => {
  const long = 'x'.repeat(5000);
  assert.ok(cut(long).length < 230);
  const [f] = await runChecks(exp({ body: 'nope' }), res(200, long));
  assert.ok((f?.actual.length ?? 0) < 230);
});

test('json match walks values 20,000 levels deep without recursion', () => {
  let deep: unknown = 1;
  let expected: unknown = 2;
  for (let i = 0; i < 20_000; i++) {
    deep = [deep];
    expected = [expected];
  }
  const m = jsonContains(expected, deep);
  assert.equal(m?.path.length, 1 + 20_000 * 3);
  assert.equal(m?.actual, 1);
  assert.equal(jsonContains(deep, deep), null);
  assert.equal(jsonContains({ a: [1, { b: 2 }] }, { a: [1] })?.path, '$.a[1]');
});

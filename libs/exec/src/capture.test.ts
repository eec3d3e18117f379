import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CAPTURE_VALUE_CHARS,
  captureBag,
  capturesReadBody,
  credentialCapture,
  secretCapture,
  takeCaptures,
} from './capture.js';
import type { HttpAnswer } from './http-client.js';

function answer(status: number, text: string, headers: [string, string][] = [], truncated = false): HttpAnswer {
  return {
    status,
    headers: {},
    text,
    bytes: text.length,
    decodedBytes: null,
    truncated,
    durationMs: 1,
    rawHeaders: headers.flatMap(([n, v]) => [Buffer.from(n), Buffer.from(v)]),
    sample: [],
  };
}

const body = JSON.stringify({ id: 'a-1', n: 7, ok: true, nil: null, list: [{ 'x y': 'deep' }], obj: { k: 1 } });

test('json captures walk the path subset; non-strings are their JSON text', async () => {
  const t = await takeCaptures(
    [
      { name: 'id', source: 'json:$.id' },
      { name: 'n', source: 'json:$.n' },
      { name: 'ok', source: 'json:$.ok' },
      { name: 'nil', source: 'json:$.nil' },
      { name: 'deep', source: "json:$.list[0]['x y']" },
      { name: 'obj', source: 'json:$.obj' },
    ],
    answer(201, body),
  );
  assert.deepEqual(t.failures, []);
  assert.deepEqual({ ...t.values }, { id: 'a-1', n: '7', ok: 'true', nil: 'null', deep: 'deep', obj: '{"k":1}' });
});

test('a capture that finds nothing is a capture failure saying which and where', async () => {
  const t = await takeCaptures(
    [
      { name: 'gone', source: 'json:$.list[3]' },
      { name: 'proto', source: 'json:$.constructor' },
      { name: 'etag', source: 'header:ETag' },
      { name: 're', source: 'body:/id":"(z+)/' },
    ],
    answer(200, body),
  );
  assert.deepEqual({ ...t.values }, {});
  assert.deepEqual(t.failures, [
    { check: 'capture', expected: 'gone from json:$.list[3]', actual: 'no such path in the response' },
    { check: 'capture', expected: 'proto from json:$.constructor', actual: 'no such path in the response' },
    { check: 'capture', expected: 'etag from header:ETag', actual: 'no header ETag in the response' },
    { check: 'capture', expected: 're from body:/id":"(z+)/', actual: 'no match in the body' },
  ]);
  const notJson = await takeCaptures([{ name: 'x', source: 'json:$.x' }], answer(200, '<html>'));
  assert.equal(notJson.failures[0]?.actual, 'the body is not JSON');
  const cutBody = await takeCaptures([{ name: 'x', source: 'json:$.x' }], answer(200, '{"x":1', [], true));
  assert.match(cutBody.failures[0]?.actual ?? '', /cut at --max-body/);
});

test('header, status and body captures', async () => {
  const t = await takeCaptures(
    [
      { name: 'loc', source: 'header:location' },
      { name: 'status', source: 'status' },
      { name: 'group', source: 'body:/"id":"([^"]+)"/' },
      { name: 'whole', source: 'body:/a-\\d/' },
    ],
    answer(201, body, [
      ['Location', '/items/a-1'],
      ['location', 'second'],
    ]),
  );
  assert.deepEqual({ ...t.values }, { loc: '/items/a-1', status: '201', group: 'a-1', whole: 'a-1' });
});

test('a backtracking body capture is stopped by the regex deadline, never blocking', async () => {
  const text = `${'a'.repeat(40)}!`;
  const t = await takeCaptures([{ name: 'x', source: 'body:/^(a|a)+$/i' }], answer(200, text));
  assert.match(t.failures[0]?.actual ?? '', /ran longer than 2000 ms/);
});

test('which captures read the body, and which are secrets', () => {
  assert.equal(capturesReadBody([{ name: 's', source: 'status' }]), false);
  assert.equal(capturesReadBody([{ name: 's', source: 'header:X' }]), false);
  assert.equal(capturesReadBody([{ name: 's', source: 'json:$' }]), true);
  assert.equal(capturesReadBody(undefined), false);
  assert.equal(credentialCapture({ name: 'access_token', source: 'json:$.x' }), true);
  assert.equal(credentialCapture({ name: 'x', source: 'json:$.auth.value' }), true);
  assert.equal(credentialCapture({ name: 'x', source: 'header:X-Session' }), true);
  assert.equal(credentialCapture({ name: 'item_id', source: 'json:$.id' }), false);
  assert.equal(secretCapture('setup', { name: 'item_id', source: 'json:$.id' }), true);
  assert.equal(secretCapture(undefined, { name: 'item_id', source: 'json:$.id' }), false);
});

test('captured values live in a prototype-less bag: no name reaches Object.prototype', async () => {
  // The suite reader refuses these names (core flow-fields.ts); the store holds even so.
  const t = await takeCaptures(
    [
      { name: '__proto__', source: 'json:$.__proto__' },
      { name: 'constructor', source: 'status' },
    ],
    answer(200, '{"__proto__":{"polluted":"yes"}}'),
  );
  assert.equal(Object.getPrototypeOf(t.values), null);
  assert.equal(Object.hasOwn(t.values, '__proto__'), true);
  assert.equal(Object.getOwnPropertyDescriptor(t.values, '__proto__')?.value, '{"polluted":"yes"}');
  assert.equal(t.values.constructor, '200');
  const merged = captureBag({ a: '1' }, t.values);
  assert.equal(Object.getPrototypeOf(merged), null);
  assert.deepEqual(Object.keys(merged), ['a', '__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('a value over CAPTURE_VALUE_CHARS is refused as a capture failure, not kept', async () => {
  const big = 'x'.repeat(CAPTURE_VALUE_CHARS + 1);
  const t = await takeCaptures(
    [
      { name: 'huge', source: 'json:$.v' },
      { name: 'whole', source: 'body:/x+/' },
      { name: 'fits', source: 'status' },
    ],
    answer(200, JSON.stringify({ v: big })),
  );
  assert.deepEqual({ ...t.values }, { fits: '200' });
  assert.deepEqual(
    t.failures.map((f) => f.actual),
    [
      `the value has ${CAPTURE_VALUE_CHARS + 1} characters, over the ${CAPTURE_VALUE_CHARS} a capture may take`,
      `the value has ${CAPTURE_VALUE_CHARS + 1} characters, over the ${CAPTURE_VALUE_CHARS} a capture may take`,
    ],
  );
  const atLimit = await takeCaptures(
    [{ name: 'v', source: 'json:$.v' }],
    answer(200, JSON.stringify({ v: big.slice(1) })),
  );
  assert.equal(atLimit.values.v?.length, CAPTURE_VALUE_CHARS);
});

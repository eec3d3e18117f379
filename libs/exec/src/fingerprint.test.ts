import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a, normalizeTestRecord, type TestRecord } from '@capi/core';
import { fingerprint, hashJsonArray } from './fingerprint.js';

// Journals written by earlier versions resume only while a test's fingerprint stays the
// same: these are the values of the first scheme, leading zeros included.
test('fingerprints keep their values: eight hex digits each half, leading zeros kept', () => {
  const get = (i: number) =>
    normalizeTestRecord({ id: `t${i}`, request: { method: 'GET', url: `/items/${i}` }, expect: { status: '200' } }, 0);
  assert.equal(fingerprint(get(538)), '00d7c091.dab2885c');
  assert.equal(fingerprint(get(565)), '009a84f3.dab2885c');
  assert.equal(fingerprint(get(1296)), '001afd5d.dab2885c');
  const flow = normalizeTestRecord(
    {
      id: 'f1',
      flow: 'login',
      request: { method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, body: '{"u":"ü"}' },
      expect: { status: '2xx', body: 'token' },
      timeoutMs: 500,
      vars: { a: '1' },
    },
    0,
  );
  assert.equal(fingerprint(flow), 'e671bd38.b1a4da1e');
});

test('hashJsonArray is fnv1a of the JSON text of the items, without the text', () => {
  const items: unknown[][] = [
    [],
    ['GET', '/items/1', {}, null, {}, null],
    ['POST', '/x?q="é"\\', { 'X-A': 'v"1', b: 'c' }, '{"a":"\u0001"}', { k: 'v\n' }, 1000],
    ['2xx', '/^ok$/i', '{"a":1}', 250, false],
    [
      'lone \ud800',
      'pair 😀',
      '',
      0,
      -0,
      1e21,
      Number.NaN,
      true,
      undefined,
      [],
      [{ name: 'tok' }],
      Object.create(null),
    ],
  ];
  for (const list of items) assert.equal(hashJsonArray(list), fnv1a(JSON.stringify(list)), JSON.stringify(list));
});

test('a fingerprint is the FNV-1a of the JSON text of its two lists, for records of every shape', () => {
  const hex = (h: number) => h.toString(16).padStart(8, '0');
  const lists = (r: TestRecord): [unknown[], unknown[]] => {
    const sent: unknown[] = [r.request.method, r.request.url, r.request.headers, r.request.body, r.vars, r.timeoutMs];
    if (r.flow !== undefined || r.phase !== undefined) sent.push(r.flow ?? null, r.phase ?? null);
    const checked: unknown[] = [r.expect.status, r.expect.body, r.expect.json, r.expect.maxMs, r.enabled];
    if (r.capture !== undefined) checked.push(r.capture);
    return [sent, checked];
  };
  const records = [
    { id: 'a', request: { method: 'GET', url: '/a' } },
    {
      id: 'b',
      enabled: false,
      request: { method: 'post', url: '/"b"', body: 'x\ny', headers: { A: '1' } },
      timeoutMs: 0,
    },
    { id: 'c', request: { method: 'GET', url: '/c' }, expect: { status: '2xx', json: '{"a":1}', maxMs: 5 } },
    { id: 'd', phase: 'setup', request: { method: 'GET', url: '/d' }, capture: [{ name: 't', source: 'json:$.t' }] },
    { id: 'e', flow: 'f', request: { method: 'GET', url: '/é\u0001' }, vars: { k: 'v' } },
  ];
  for (const raw of records) {
    const r = normalizeTestRecord(raw, 0);
    const [sent, checked] = lists(r);
    assert.equal(fingerprint(r), `${hex(fnv1a(JSON.stringify(sent)))}.${hex(fnv1a(JSON.stringify(checked)))}`, r.id);
  }
});

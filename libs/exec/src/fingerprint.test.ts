import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTestRecord } from '@capi/core';
import { fingerprint } from './fingerprint.js';

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

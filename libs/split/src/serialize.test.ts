import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestRecord } from '@capi/core';
import { serializeTestRecord } from './serialize.js';

const record = (over: Partial<TestRecord> = {}): TestRecord => ({
  id: 'T1',
  name: 'n',
  seq: 0,
  request: { method: 'GET', url: '/a', headers: {}, body: null },
  expect: { status: '2xx', body: null, json: null, maxMs: null },
  timeoutMs: null,
  tags: [],
  enabled: true,
  vars: {},
  source: { file: 's.csv', line: 2 },
  ...over,
});

test('gives exactly what JSON.stringify gives, escapes and all', () => {
  const tricky = [
    'plain',
    'quote " and \\ back',
    'tab\tnew\nline\r',
    '\u0000\u001f',
    'émoji 😀',
    'lone \ud800 half',
    '',
    '</script>',
  ];
  for (const text of tricky) {
    const r = record({
      id: text || 'x',
      name: text,
      request: { method: 'POST', url: text, headers: { [text]: text, '2': 'n' }, body: text },
      expect: { status: '2xx', body: text, json: text, maxMs: 5 },
      timeoutMs: 1000,
      tags: [text, 'a'],
      enabled: false,
      vars: { [text]: text, 10: 'ten' },
      source: null,
    });
    assert.equal(serializeTestRecord(r), JSON.stringify(r));
  }
  assert.equal(serializeTestRecord(record()), JSON.stringify(record()));
});

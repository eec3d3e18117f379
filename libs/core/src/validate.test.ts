import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bodyValue,
  jsonTextValue,
  methodValue,
  millisValue,
  normalizeTestRecord,
  statusValue,
  tagsValue,
  ValueError,
  validateResultRecord,
  validateTestRecord,
} from './validate.js';

const minimal = { id: 'T1', request: { method: 'GET', url: '/x' } };

test('a minimal test record is valid and normalizes to the documented defaults', () => {
  assert.equal(validateTestRecord(minimal), null);
  assert.deepEqual(normalizeTestRecord(minimal, 4), {
    id: 'T1',
    name: 'T1',
    seq: 4,
    request: { method: 'GET', url: '/x', headers: {}, body: null },
    expect: { status: '2xx', body: null, json: null, maxMs: null },
    timeoutMs: null,
    tags: [],
    enabled: true,
    vars: {},
    source: null,
  });
});

test('a full test record keeps its values', () => {
  const full = {
    id: 'T2',
    name: 'n',
    seq: 9,
    request: { method: 'POST', url: '/y', headers: { a: 'b' }, body: '{}' },
    expect: { status: '201', body: 'ok', json: '{"a":{{v}}}', maxMs: 50 },
    timeoutMs: 1000,
    tags: ['t'],
    enabled: false,
    vars: { v: '1' },
    source: { file: 's.csv', line: 3 },
  };
  assert.equal(validateTestRecord(full), null);
  assert.deepEqual(normalizeTestRecord(full, 0), full);
});

test('each bad field of a test record is named', () => {
  const cases: [unknown, RegExp][] = [
    [null, /JSON object/],
    [[], /JSON object/],
    [{ ...minimal, id: '' }, /field "id"/],
    [{ ...minimal, id: 5 }, /field "id"/],
    [{ ...minimal, name: 1 }, /field "name"/],
    [{ ...minimal, seq: -1 }, /field "seq"/],
    [{ ...minimal, seq: 1.5 }, /field "seq"/],
    [{ id: 'T' }, /field "request"/],
    [{ id: 'T', request: { method: 'GRT', url: '/' } }, /field "request.method": unknown method "GRT"/],
    [{ id: 'T', request: { method: 5, url: '/' } }, /field "request\.method": must be a method name/],
    [{ id: 'T', request: { url: '/' } }, /field "request\.method"/],
    [{ ...minimal, id: '  ' }, /field "id"/],
    [{ id: 'T', request: { method: 'GET', url: ' ' } }, /field "request.url"/],
    [{ id: 'T', request: { method: 'GET', url: '' } }, /field "request.url"/],
    [{ id: 'T', request: { method: 'GET', url: '/', headers: { a: 1 } } }, /field "request.headers"/],
    [{ id: 'T', request: { method: 'GET', url: '/', body: {} } }, /field "request.body"/],
    [{ ...minimal, expect: [] }, /field "expect"/],
    [{ ...minimal, expect: { status: 200 } }, /field "expect.status"/],
    [{ ...minimal, expect: { body: 1 } }, /field "expect.body"/],
    [{ ...minimal, expect: { json: {} } }, /field "expect.json"/],
    [{ ...minimal, expect: { maxMs: 'x' } }, /field "expect.maxMs"/],
    [{ ...minimal, expect: { maxMs: Number.NaN } }, /field "expect.maxMs"/],
    [{ ...minimal, timeoutMs: '5' }, /field "timeoutMs"/],
    // The same value rules as the suite CSV's cells:
    [{ ...minimal, expect: { status: '2xy' } }, /field "expect\.status": expected a code like 200/],
    [{ ...minimal, expect: { status: '200,' } }, /field "expect\.status"/],
    [{ ...minimal, expect: { body: '/[/' } }, /field "expect\.body": bad regular expression/],
    [{ ...minimal, expect: { json: '{bad' } }, /field "expect\.json": malformed JSON/],
    [{ ...minimal, expect: { json: ' ' } }, /field "expect\.json": malformed JSON/],
    [
      { ...minimal, expect: { maxMs: 1.5 } },
      /field "expect\.maxMs": must be a whole number of milliseconds \(got 1\.5\)/,
    ],
    [{ ...minimal, expect: { maxMs: -1 } }, /field "expect\.maxMs": must be a whole number/],
    [{ ...minimal, timeoutMs: 2.5 }, /field "timeoutMs": must be a whole number of milliseconds/],
    [{ ...minimal, timeoutMs: 2 ** 60 }, /field "timeoutMs": must be a whole number/],
    [{ ...minimal, tags: 'a;b' }, /field "tags"/],
    [{ ...minimal, tags: [1] }, /field "tags"/],
    [{ ...minimal, enabled: 'no' }, /field "enabled"/],
    [{ ...minimal, vars: { a: 1 } }, /field "vars"/],
  ];
  for (const [value, message] of cases) {
    const got = validateTestRecord(value);
    assert.ok(got !== null, `accepted ${JSON.stringify(value)}`);
    assert.match(got, message);
  }
});

test('every method of docs/formats.md is accepted', () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
    assert.equal(validateTestRecord({ id: 'T', request: { method, url: '/' } }), null, method);
  }
});

test('methods: any case and spaces are accepted and normalized, as in the suite CSV', () => {
  const record = { id: 'T', request: { method: ' get ', url: '/' } };
  assert.equal(validateTestRecord(record), null);
  assert.equal(normalizeTestRecord(record, 0).request.method, 'GET');
  assert.match(
    validateTestRecord({ id: 'T', request: { method: 'FETCH', url: '/' } }) ?? '',
    /^field "request\.method": unknown method "FETCH" \(expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE\)$/,
  );
});

test('expectations: templates in JSON, substrings that look like paths, and whole numbers pass; values are normalized', () => {
  const record = {
    ...minimal,
    expect: { status: '2XX, 404', body: '/users/me', json: '{"id": {{id}}, "n": "{{name}}"}', maxMs: 0 },
    timeoutMs: 1000,
    tags: [' smoke ', '', 'auth', 'smoke'],
  };
  assert.equal(validateTestRecord(record), null);
  const n = normalizeTestRecord(record, 0);
  assert.deepEqual(n.expect, { status: '2xx,404', body: '/users/me', json: record.expect.json, maxMs: 0 });
  assert.deepEqual(n.tags, ['smoke', 'auth']);
  const empty = normalizeTestRecord({ ...minimal, expect: { status: '', body: '', json: '' } }, 0);
  assert.deepEqual(empty.expect, { status: '2xx', body: null, json: null, maxMs: null }, 'empty means none, as in CSV');
});

test('the shared value rules: normalized value, or a ValueError that names no field', () => {
  assert.equal(methodValue('Patch'), 'PATCH');
  assert.equal(statusValue(' 200 , 2XX '), '200,2xx');
  assert.equal(statusValue(''), '2xx');
  assert.equal(bodyValue(''), null);
  assert.equal(bodyValue('/^ok$/i'), '/^ok$/i');
  assert.equal(bodyValue('/items/abc'), '/items/abc', 'flags capi-exec does not read: a substring');
  assert.equal(jsonTextValue(''), null);
  assert.equal(millisValue(' 250 '), 250);
  assert.equal(millisValue(''), null);
  assert.equal(millisValue(null), null);
  assert.equal(millisValue(7), 7);
  assert.deepEqual(tagsValue([' a', 'b ', 'a', ' ']), ['a', 'b']);
  for (const bad of [
    () => methodValue('GRT'),
    () => statusValue('6xx'),
    () => bodyValue('/(/'),
    () => bodyValue('/a/uv'),
    () => jsonTextValue('{"a": [1,}'),
    () => millisValue('1e3'),
    () => millisValue(-0.5),
  ])
    assert.throws(bad, (err: unknown) => err instanceof ValueError && !/field/.test(err.message));
});

test('result records: valid ones pass, bad fields are named', () => {
  const r = { id: 'T1', status: 'failed', failures: [{ check: 'status', expected: '200', actual: '404' }] };
  assert.equal(validateResultRecord(r), null);
  assert.equal(validateResultRecord({ ...r, tags: [] }), null);
  assert.equal(validateResultRecord({ ...r, tags: ['smoke', 'ü'] }), null);
  const cases: [unknown, RegExp][] = [
    ['x', /JSON object/],
    [{ status: 'passed' }, /field "id"/],
    [{ id: 'T', status: 'ok' }, /field "status": must be one of passed, failed, error, skipped/],
    [{ id: 'T', status: 'passed', attempts: -1 }, /field "attempts"/],
    [{ id: 'T', status: 'passed', durationMs: '1' }, /field "durationMs"/],
    [{ id: 'T', status: 'passed', failures: {} }, /field "failures"/],
    [{ id: 'T', status: 'error', error: 'boom' }, /field "error"/],
    [{ id: 'T', status: 'passed', tags: [1] }, /field "tags": must be an array of strings/],
    [{ id: 'T', status: 'passed', tags: ['a', null] }, /field "tags"/],
    [{ id: 'T', status: 'passed', tags: 'a;b' }, /field "tags"/],
    [{ id: 'T', status: 'passed', tags: { a: 1 } }, /field "tags"/],
  ];
  for (const [value, message] of cases) assert.match(validateResultRecord(value) ?? 'accepted', message);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkExpectBody,
  parseEnabled,
  parseExpectStatus,
  parseJsonCell,
  parseMethod,
  parseTags,
  parseWholeNumber,
} from './cell-values.js';
import { parseHeadersCell } from './headers-cell.js';

test('method: defaults to GET, any case, unknown is an error naming the field', () => {
  assert.equal(parseMethod(''), 'GET');
  assert.equal(parseMethod(' patch '), 'PATCH');
  assert.throws(() => parseMethod('GRT'), /^FieldError: field "method": unknown method "GRT"/);
});

test('max_ms and timeout_ms take whole numbers only', () => {
  assert.equal(parseWholeNumber('max_ms', ''), null);
  assert.equal(parseWholeNumber('max_ms', ' 250 '), 250);
  for (const bad of ['1.5', '-1', '1e3', 'ten', '99999999999999999999'])
    assert.throws(() => parseWholeNumber('timeout_ms', bad), /field "timeout_ms": must be a whole number/);
});

test('enabled: empty and yes-words are on, no-words are off, anything else is an error', () => {
  for (const on of ['', 'yes', 'TRUE', '1', 'on']) assert.equal(parseEnabled(on), true);
  for (const off of ['no', 'False', '0', 'OFF']) assert.equal(parseEnabled(off), false);
  assert.throws(() => parseEnabled('maybe'), /field "enabled"/);
});

test('tags split on ; trimmed, empty and repeated ones dropped', () => {
  assert.deepEqual(parseTags(' smoke ; auth;;smoke '), ['smoke', 'auth']);
  assert.deepEqual(parseTags(''), []);
});

test('expect_status takes codes, classes and lists; empty is 2xx', () => {
  assert.equal(parseExpectStatus(''), '2xx');
  assert.equal(parseExpectStatus('200, 201 ,204'), '200,201,204');
  assert.equal(parseExpectStatus('2XX,404'), '2xx,404');
  for (const bad of ['ok', '2000', '6xx', '200,']) assert.throws(() => parseExpectStatus(bad), /field "expect_status"/);
});

test('expect_body stays as written; a /regex/ must compile', () => {
  assert.equal(checkExpectBody(' item 1 '), ' item 1 ');
  assert.equal(checkExpectBody('/^ok$/i'), '/^ok$/i');
  assert.throws(() => checkExpectBody('/(/'), /field "expect_body": bad regular expression/);
});

test('JSON cells may hold templates, in strings or as values', () => {
  assert.deepEqual(parseJsonCell('expect_json', '{"id": {{id}}, "name": "{{name}}"}'), { id: 0, name: '0' });
  assert.throws(() => parseJsonCell('expect_json', '{"a": [1,}'), /field "expect_json": malformed JSON/);
});

test('headers: a JSON object or Name: value lines; templates survive', () => {
  assert.deepEqual(parseHeadersCell('{"Accept": "text/plain", "X-Id": {{id}}, "X-N": 7}'), {
    Accept: 'text/plain',
    'X-Id': '{{id}}',
    'X-N': '7',
  });
  assert.deepEqual(parseHeadersCell('Accept: text/plain\r\n\r\nAuthorization: Bearer {{env.T}}\nX-A: 1\nX-A: 2'), {
    Accept: 'text/plain',
    Authorization: 'Bearer {{env.T}}',
    'X-A': '1, 2',
  });
  assert.deepEqual(parseHeadersCell('  '), {});
  assert.throws(() => parseHeadersCell('{"x": oops}'), /field "headers": malformed JSON/);
  assert.throws(() => parseHeadersCell('["a"]'), /field "headers": must be a JSON object/);
  assert.throws(() => parseHeadersCell('Accept text/plain'), /field "headers": line 1 "Accept text\/plain"/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureCellValue, parseCaptureSource, parseJsonPath, phaseValue } from './flow-fields.js';
import { normalizeTestRecord, ValueError, validateTestRecord } from './validate.js';

const rec = (extra: Record<string, unknown>) => ({ id: 'T1', request: { method: 'GET', url: '/x' }, ...extra });

test('JSON paths of the subset parse into steps', () => {
  assert.deepEqual(parseJsonPath('$'), []);
  assert.deepEqual(parseJsonPath('$.a.b_c'), ['a', 'b_c']);
  assert.deepEqual(parseJsonPath("$['a b'][0].c"), ['a b', 0, 'c']);
  assert.deepEqual(parseJsonPath("$['it\\'s']"), ["it's"]);
  for (const bad of ['a.b', '$.', '$[x]', "$['open", '$..a', '$[-1]', '$.a[*]'])
    assert.throws(() => parseJsonPath(bad), ValueError, bad);
});

test('capture sources of each kind parse, bad ones say why', () => {
  assert.deepEqual(parseCaptureSource('json:$.id'), { kind: 'json', path: ['id'] });
  assert.deepEqual(parseCaptureSource('header:ETag'), { kind: 'header', name: 'ETag' });
  assert.deepEqual(parseCaptureSource('status'), { kind: 'status' });
  assert.deepEqual(parseCaptureSource('body:/id=(\\d+)/gi'), { kind: 'body', pattern: 'id=(\\d+)', flags: 'i' });
  assert.throws(() => parseCaptureSource('body:/(/'), /bad regular expression/);
  assert.throws(() => parseCaptureSource('header:a b'), /not an HTTP header name/);
  assert.throws(() => parseCaptureSource('xml:/a'), /unknown capture source/);
  assert.throws(() => parseCaptureSource(`body:/${'a'.repeat(5000)}/`), ValueError);
});

test('a capture cell is name=source pairs; a ; inside a body regex stays in it', () => {
  assert.deepEqual(captureCellValue(' item_id = json:$.id ; etag=header:ETag'), [
    { name: 'item_id', source: 'json:$.id' },
    { name: 'etag', source: 'header:ETag' },
  ]);
  assert.deepEqual(captureCellValue('x=body:/a;b/'), [{ name: 'x', source: 'body:/a;b/' }]);
  assert.deepEqual(captureCellValue(''), []);
  assert.throws(() => captureCellValue('json:$.id'), /expected name=source/);
  assert.throws(() => captureCellValue('1x=status'), /letters, digits and _/);
  assert.throws(() => captureCellValue('id=status'), /the test's own/);
  for (const name of ['__proto__', 'constructor', 'prototype'])
    assert.throws(() => captureCellValue(`${name}=status`), new RegExp(`capture name "${name}" is not allowed`));
  assert.throws(() => captureCellValue('a=status;a=status'), /given twice/);
});

test('phase values', () => {
  assert.equal(phaseValue(''), null);
  assert.equal(phaseValue(' Test '), null);
  assert.equal(phaseValue('SETUP'), 'setup');
  assert.equal(phaseValue('teardown'), 'teardown');
  assert.throws(() => phaseValue('before'), /unknown phase "before"/);
});

test('test records carry capture, flow and phase, checked by the CSV rules', () => {
  const good = rec({ capture: [{ name: 'item_id', source: 'json:$.id' }], flow: ' order-1 ' });
  assert.equal(validateTestRecord(good), null);
  const n = normalizeTestRecord(good, 0);
  assert.deepEqual(n.capture, [{ name: 'item_id', source: 'json:$.id' }]);
  assert.equal(n.flow, 'order-1');
  assert.equal(n.phase, undefined);
  assert.equal(normalizeTestRecord(rec({ phase: 'setup' }), 0).phase, 'setup');
  assert.equal(normalizeTestRecord(rec({ phase: 'test' }), 0).phase, undefined);
  // Absent fields stay absent: records without flows are as they were.
  assert.equal(Object.hasOwn(normalizeTestRecord(rec({ capture: [], flow: null }), 0), 'capture'), false);
  assert.match(validateTestRecord(rec({ capture: 'x' })) ?? '', /field "capture": must be an array/);
  assert.match(validateTestRecord(rec({ capture: [{ name: 'x' }] })) ?? '', /field "capture\[0\]"/);
  assert.match(
    validateTestRecord(
      rec({
        capture: [
          { name: 'ok', source: 'status' },
          { name: 'b', source: 'json:id' },
        ],
      }),
    ) ?? '',
    /field "capture\[1\]": capture "b": JSON path "id" must start with \$/,
  );
  assert.match(validateTestRecord(rec({ flow: '  ' })) ?? '', /field "flow"/);
  assert.match(validateTestRecord(rec({ phase: 'later' })) ?? '', /field "phase": unknown phase/);
  assert.match(validateTestRecord(rec({ phase: 'setup', flow: 'f' })) ?? '', /not both/);
});

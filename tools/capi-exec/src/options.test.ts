import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '@capi/core';
import { parseHeaders, toOptions } from './options.js';

test('no --in and stdin is a terminal: a usage error, not a silent wait', () => {
  assert.throws(
    () => toOptions({}, [], {}, true),
    (err: unknown) => err instanceof UsageError && err.message === 'no input: pipe test records in or give --in FILE',
  );
  assert.equal(toOptions({}, [], {}, false).source, '<stdin>');
  assert.equal(toOptions({ in: '-' }, ['--in', '-'], {}, true).source, '<stdin>');
});

test('--header names are case-insensitive: a later one replaces an earlier one of the same name', () => {
  assert.deepEqual(parseHeaders(['X-A: 1', 'x-a: 2', 'B: 3']), { 'x-a': '2', B: '3' });
  assert.deepEqual(parseHeaders(['X-A: 1', 'X-A: 2']), { 'X-A': '2' });
  assert.throws(() => parseHeaders(['X A: 1']), /--header: "X A" is not a header name/);
  assert.throws(() => parseHeaders([': 1']), /--header takes 'Name: value'/);
});

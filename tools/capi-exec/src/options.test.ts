import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '@capi/core';
import { toOptions } from './options.js';

test('no --in and stdin is a terminal: a usage error, not a silent wait', () => {
  assert.throws(
    () => toOptions({}, [], {}, true),
    (err: unknown) => err instanceof UsageError && err.message === 'no input: pipe test records in or give --in FILE',
  );
  assert.equal(toOptions({}, [], {}, false).source, '<stdin>');
  assert.equal(toOptions({ in: '-' }, ['--in', '-'], {}, true).source, '<stdin>');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overrideExecArgs } from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';

test('--max-pause and --compressed reach every worker, checked at launch', () => {
  assert.deepEqual(execArgsFrom({ 'max-pause': '60', compressed: true }, []), ['--max-pause', '60', '--compressed']);
  assert.throws(() => execArgsFrom({ 'max-pause': '86401' }, []), /--max-pause takes a whole number from 0 to 86400/);
  assert.throws(
    () => execArgsFrom({ 'max-body': '268435457' }, []),
    /--max-body takes a whole number from 0 to 268435456/,
  );
});

test('a stored --compressed is a switch: a resume keeps what follows it', () => {
  assert.deepEqual(overrideExecArgs(['--compressed', '--max-pause', '60'], ['--max-pause', '5']), [
    '--compressed',
    '--max-pause',
    '5',
  ]);
});

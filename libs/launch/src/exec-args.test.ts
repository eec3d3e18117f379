import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execArg, showExecArgs } from './exec-flag-list.js';
import { stallTimeoutMs } from './stall.js';
import { stopGraceMs } from './stop-workers.js';

test('execArg: the last value of a capi-exec flag wins, in either spelling, as capi-exec reads it', () => {
  assert.equal(execArg(['--timeout', '5', '--grace', '7'], '--timeout'), '5');
  assert.equal(execArg(['--timeout', '5', '--timeout=9'], '--timeout'), '9');
  assert.equal(execArg(['--timeout=9', '--timeout', '4'], '--timeout'), '4');
  assert.equal(execArg(['--timeouts', '5'], '--timeout'), undefined);
  assert.equal(execArg([], '--grace'), undefined);
});

test('the stall timeout and the stop grace follow the last --timeout and --grace given', () => {
  // A resume appends the flags it was given: the later value is the one capi-exec uses.
  assert.equal(
    stallTimeoutMs({ stallTimeoutS: undefined, execArgs: ['--timeout', '1000', '--timeout', '20000'] }),
    200_000,
  );
  assert.equal(stallTimeoutMs({ stallTimeoutS: 3, execArgs: [] }), 3000);
  assert.equal(stopGraceMs(['--grace', '1000', '--grace=5000']), 15_000);
  assert.equal(stopGraceMs([]), 20_000);
});

test('showExecArgs: a literal credential header value is redacted, a template and other headers are shown', () => {
  assert.equal(
    showExecArgs(['--header', 'Private-Token: abc123xyz', '-x', '--header', 'Authorization: Bearer {{env.T}}']) +
      ` ${showExecArgs(['--header', 'X-Region: eu', '--timeout', '5'])}`,
    '--header Private-Token: [redacted] -x --header Authorization: Bearer {{env.T}} --header X-Region: eu --timeout 5',
  );
});

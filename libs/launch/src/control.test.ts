import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRate, RUN_STATES, runExitCode, shellQuote, UsageError } from '@capi/core';
import { parseSetting } from './change-control.js';
import { exitCodeOf } from './finish.js';

test('parseSetting takes rate=N/s|N/m and concurrency=N, and names what is wrong', () => {
  assert.deepEqual(parseSetting('rate=50/s'), { rate: '50/s' });
  assert.deepEqual(parseSetting('rate=600/m'), { rate: '600/m' });
  assert.deepEqual(parseSetting('concurrency=16'), { concurrency: 16 });
  assert.throws(
    () => parseSetting('rate=fast'),
    /--set rate takes N\/s or N\/m, or none \(or 0\) for no limit \(got "fast"\)/,
  );
  assert.throws(() => parseSetting('concurrency=0'), /whole number from 1 to 10000/);
  // capi-exec refuses --concurrency over 10000: a resume would give the workers this value
  assert.deepEqual(parseSetting('concurrency=10000'), { concurrency: 10000 });
  assert.throws(
    () => parseSetting('concurrency=10001'),
    /from 1 to 10000, as capi-exec's --concurrency \(got "10001"\)/,
  );
  assert.throws(() => parseSetting('workers=3'), /--set takes rate=N\/s/);
});

test('parseSetting: rate=0 and rate=none remove the limit (control.json rate null, which capi-exec reads as none)', () => {
  for (const v of ['0', 'none', 'NONE', '0/s', '0.0/m']) assert.deepEqual(parseSetting(`rate=${v}`), { rate: null }, v);
  assert.throws(() => parseSetting('rate=-1'), /or none \(or 0\) for no limit/);
});

test("exitCodeOf is core's one runExitCode for a run whose supervisor is gone", () => {
  for (const state of RUN_STATES)
    for (const verdict of ['passed', 'failed', null] as const)
      for (const stopSignal of ['SIGINT', 'SIGTERM', undefined] as const)
        assert.equal(
          exitCodeOf({ state, verdict, stopSignal }),
          runExitCode({ state, verdict, stopSignal, alive: false }),
          `${state} ${verdict} ${stopSignal}`,
        );
  assert.equal(exitCodeOf({ state: 'stopped', verdict: null, stopSignal: 'SIGINT' }), 130);
  assert.equal(exitCodeOf({ state: 'running', verdict: null }), 3, 'the supervisor died without an end');
});

test('shellQuote leaves plain words and quotes the rest for sh', () => {
  assert.equal(shellQuote('/a/b-c_d.js'), '/a/b-c_d.js');
  assert.equal(shellQuote('a b'), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test("core's checkRate, capi-exec's rate grammar, is what --rate and --set rate= take and names the flag; errors are usage errors", () => {
  for (const ok of ['20/s', '600/m', '3600/h', '20', '2.5/sec', '10/min', '1/hour'])
    assert.equal(checkRate(ok, '--rate'), ok);
  assert.deepEqual(parseSetting('rate=3600/h'), { rate: '3600/h' });
  assert.deepEqual(parseSetting('rate=20'), { rate: '20' });
  assert.throws(
    () => checkRate('fast', '--rate'),
    (e: unknown) => e instanceof UsageError && /^--rate takes/.test(e.message),
  );
  assert.throws(() => checkRate('0/s', '--rate'), UsageError);
  assert.throws(() => parseSetting('speed=9'), UsageError);
});

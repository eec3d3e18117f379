import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPassRate, passRate, roundPassRate, runExitCode, testsVerdict } from './run-verdict.js';

test('passRate: passed over passed, failed, errors and missing; null when nothing is judged', () => {
  assert.equal(passRate({ passed: 3, failed: 1, errors: 0, missing: 0 }), 75);
  assert.equal(passRate({ passed: 3, failed: 0, errors: 1, missing: 4 }), 37.5);
  assert.equal(passRate({ passed: 0, failed: 0, errors: 0, missing: 0 }), null);
  assert.equal(passRate({ passed: 0, failed: 0, errors: 0, missing: 2 }), 0);
});

test('testsVerdict: any failed, errored or missing test, or failed teardown row, fails', () => {
  assert.equal(testsVerdict({ failed: 0, errors: 0, missing: 0, teardownFailed: 0 }), 'passed');
  for (const c of [
    { failed: 1, errors: 0, missing: 0, teardownFailed: 0 },
    { failed: 0, errors: 1, missing: 0, teardownFailed: 0 },
    { failed: 0, errors: 0, missing: 1, teardownFailed: 0 },
    { failed: 0, errors: 0, missing: 0, teardownFailed: 1 },
  ])
    assert.equal(testsVerdict(c), 'failed', JSON.stringify(c));
});

test('runExitCode: one exit code per run state, for every tool', () => {
  const end = (state: string, more = {}) => runExitCode({ state, verdict: null, alive: null, ...more });
  assert.equal(end('completed', { verdict: 'passed' }), 0);
  assert.equal(end('completed', { verdict: 'failed' }), 1);
  assert.equal(
    end('completed', { counts: { failed: 0, errors: 0, missing: 0, teardownFailed: 0 } }),
    0,
    'bare capi-exec, all passed',
  );
  assert.equal(end('completed', { counts: { failed: 0, errors: 2, missing: 0, teardownFailed: 0 } }), 1);
  assert.equal(
    end('completed', { counts: { failed: 0, errors: 0, missing: 0, teardownFailed: 1 } }),
    1,
    'a teardown failed',
  );
  assert.equal(end('completed'), 1, 'completed with neither verdict nor counts is not a pass');
  assert.equal(end('stopped'), 143, 'a stopped run whose signal is unknown: SIGTERM');
  assert.equal(end('stopped', { stopSignal: 'SIGTERM', verdict: 'passed' }), 143, 'stopped: never 0 or 1');
  assert.equal(end('stopped', { stopSignal: 'SIGHUP' }), 143);
  assert.equal(end('stopped', { stopSignal: 'SIGINT' }), 130);
  assert.equal(end('failed', { verdict: 'passed' }), 3, 'a batch given up: could not run, whatever passed');
  assert.equal(end('failed', { verdict: 'failed' }), 3);
  for (const state of ['created', 'running', 'paused']) {
    assert.equal(end(state, { alive: true }), null, `${state}: still going`);
    assert.equal(end(state, { alive: null }), null, `${state}: unknown liveness is not dead`);
    assert.equal(end(state, { alive: false }), 3, `${state}: dead`);
  }
});

test('a pass rate is never shown as 100 % while a test did not pass', () => {
  assert.equal(formatPassRate((9999 / 10000) * 100, 1), '99.9%');
  assert.equal(formatPassRate((99999 / 100000) * 100), '99.99%');
  assert.equal(formatPassRate(100), '100.00%');
  assert.equal(formatPassRate((2 / 3) * 100), '66.67%');
  assert.equal(formatPassRate(null), '-');
  assert.equal(roundPassRate(99.96, 1), 99.9);
  assert.equal(roundPassRate(57.25, 1), 57.3);
});

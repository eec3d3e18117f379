import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stallTimeoutMs } from './stall.js';

test('stall timeout: --stall-timeout seconds, 0 for never, else max(60 s, 10 x the request timeout)', () => {
  assert.equal(stallTimeoutMs({ stallTimeoutS: 5, execArgs: [] }), 5000);
  assert.equal(stallTimeoutMs({ stallTimeoutS: 0, execArgs: [] }), 0);
  assert.equal(stallTimeoutMs({ execArgs: [] }), 300_000, "capi-exec's default timeout is 30 s");
  assert.equal(stallTimeoutMs({ stallTimeoutS: null, execArgs: ['--timeout', '2000'] }), 60_000);
  assert.equal(stallTimeoutMs({ execArgs: ['--base-url', 'http://x', '--timeout', '20000'] }), 200_000);
});

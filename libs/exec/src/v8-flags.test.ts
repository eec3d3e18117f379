import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXEC_START_BUILTINS } from './v8-flags.js';

test('EXEC_START_BUILTINS names node built-ins (a misspelt one would load nothing), none of those taken at first use', () => {
  for (const id of EXEC_START_BUILTINS) assert.ok(process.getBuiltinModule(id), `${id} is not a node built-in`);
  // deferred on purpose: a one-test run must not load them (the install test asserts it)
  const deferred = ['crypto', 'http', 'http2', 'assert', 'perf_hooks', 'zlib', 'worker_threads'];
  for (const id of EXEC_START_BUILTINS) assert.ok(!deferred.includes(id.replace(/^node:/, '')), `${id} is deferred`);
});

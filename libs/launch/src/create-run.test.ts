import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitError } from './create-run.js';

test("splitError: capi-split's error line, without stack frames, warnings before it or the Try line", () => {
  const stderr =
    'capi-split: warning: suite.csv:4: skipped\ncapi-split: cannot write /r/batches/batch_0003.ndjson: no space left on the device\n    at x (y.js:1:1)\n';
  assert.equal(splitError(stderr), 'cannot write /r/batches/batch_0003.ndjson: no space left on the device');
  assert.equal(
    splitError("capi-split: unknown option '--x'\nTry 'capi-split --help' for more information.\n"),
    "unknown option '--x'",
  );
  assert.equal(splitError(''), '');
});

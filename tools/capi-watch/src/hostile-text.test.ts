import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPaths } from '@capi/core';
import { killAll, runTool, tempDir } from '@capi/testkit';
import { appendResults, createRun, patchManifest, result } from './test-support/fixture.js';

/** What a hostile server wrote reaches capi-watch's failure and log lines cleaned (docs/formats.md, "Text from outside"). */

const tmp = await tempDir('capi-watch-hostile-');
after(async () => {
  killAll();
  await tmp.cleanup();
});

const hostile = 'got \u001b]52;c;ZXZpbA==\u0007 \u001b[31mred\u001b[0m \u009b2J bidi\u202eevil\u2066 nul\u0000 end';
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\\u00(1b|07|00)|52;c;|\[31m/;

test('failure names, details and log lines from a hostile server are cleaned in --json and the plain block', async () => {
  const runs = join(tmp.path, 'runs');
  const dir = await createRun(runs, { id: 'capi_test_hostile', total: 2, batches: 1, pid: null, state: 'completed' });
  const failed = {
    ...result(0, 'failed', 'batch_0001', 'capi_test_hostile'),
    name: `name ${hostile}`,
    failures: [{ check: 'body', expected: 'x', actual: hostile }],
  };
  await appendResults(runPaths(dir).resultFile('batch_0001'), [
    failed,
    result(1, 'passed', 'batch_0001', 'capi_test_hostile'),
  ]);
  await appendFile(runPaths(dir).mainLog, `2026-01-01T00:00:00.000Z worker 1: ${hostile}\n`);
  await patchManifest(dir, { verdict: 'failed', finished: new Date().toISOString() });
  const json = await runTool('capi-watch', [dir, '--summary', '--json']);
  const snap = JSON.parse(json.stdout.trim().split('\n')[0] as string) as {
    failures: Array<Record<string, string>>;
    logTail: string[];
  };
  assert.equal(snap.failures.length, 1, json.stdout);
  const shown = JSON.stringify({ failures: snap.failures, logTail: snap.logTail });
  assert.equal(FORBIDDEN.exec(shown), null, shown);
  assert.match(shown, /got {2}red {2}bidievil nul end/);
  const plain = await runTool('capi-watch', [dir, '--summary']);
  assert.equal(FORBIDDEN.exec(plain.stdout), null, plain.stdout);
});

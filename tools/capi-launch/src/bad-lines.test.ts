import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '@capi/testkit';
import { sandboxes } from './test-support/harness.js';

const box = sandboxes(true);

test('one corrupt line mid-journal: --status and capi-watch still answer', async () => {
  const b = await box();
  const r = await b.launch([b.suite(6), '--foreground', '--batch-size', '3']);
  assert.equal(r.code, 0, r.stderr);
  const run = join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
  const journal = join(run, 'results', 'batch_0001.ndjson');
  const lines = readFileSync(journal, 'utf8').split('\n');
  lines.splice(1, 0, '{"id":"T0002","status":"pas\u0000');
  writeFileSync(journal, lines.join('\n'));
  const status = await b.launch(['--status', run]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /completed/);
  const watch = await runTool('capi-watch', [run, '--summary'], { env: b.env });
  assert.ok(watch.code === 0 || watch.code === 1, watch.stderr);
  assert.match(watch.stdout, /Tests Completed: 6 \/ 6/);
});

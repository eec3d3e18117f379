import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { journalIds, runDirOf, sandboxes, until } from './harness.js';

const box = sandboxes(true);

// docs/formats.md "Pass rate": a run that can still go on has tests remaining, not missing.
test('--status of a stopped run: tests without a result are remaining, the pass rate is over the results', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '40', FAKE_EXEC_FAIL: 'T0001' });
  const r = await b.launch([b.suite(400), '--parallel', '1', '--batch-size', '400']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  await until(
    'some results',
    () => existsSync(join(runDir, 'results/batch_0001.ndjson')) && journalIds(runDir).size >= 5,
  );
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  const s = await b.launch(['--status', runDir, '--json']);
  assert.equal(s.code, 0, s.stderr);
  const row = JSON.parse(s.stdout) as Record<string, number | string | null>;
  const done = row.done as number;
  assert.ok(done >= 5 && done < 400, `${done} done`);
  assert.equal(row.state, 'stopped');
  assert.equal(row.verdict, null);
  assert.equal(row.missing, 0);
  assert.equal(row.remaining, 400 - done);
  assert.equal(row.passRate, Math.round((1000 * (done - 1)) / done) / 10);
});

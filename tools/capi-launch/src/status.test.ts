import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { journalIds, runDirOf, sandboxes, until } from './test-support/harness.js';

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

test('--status: an aligned table under a header, times local with their offset; --json has the same runs', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20', FAKE_EXEC_FAIL: 'T0002' });
  const first = await b.launch([b.suite(30), '--parallel', '1', '--batch-size', '10', '--wait']);
  assert.equal(first.code, 1, first.stderr);
  const second = await b.launch([b.suite(2000), '--parallel', '1', '--batch-size', '2000']);
  const runDir = runDirOf(second.stdout);
  await until('some results', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  assert.equal((await b.launch(['--pause', runDir])).code, 0);
  // A zone with a half-hour offset and no daylight saving: the offset is always +05:30.
  const env = { TZ: 'Asia/Kolkata' };
  const s = await b.launch(['--status'], { env });
  assert.equal(s.code, 0, s.stderr);
  const rows = s.stdout.trimEnd().split('\n');
  assert.equal(rows.length, 3, s.stdout);
  assert.match(
    rows[0] as string,
    /^RUN +STATE +DONE +TOTAL +PASS +FAILED +ERRORS +VERDICT +LIMIT +METHOD +STARTED +SUPERVISOR$/,
  );
  // Every column starts where its header starts (numbers end where theirs ends).
  const head = rows[0] as string;
  const starts = ['STATE', 'VERDICT', 'LIMIT', 'METHOD', 'STARTED', 'SUPERVISOR'].map((h) => head.indexOf(h));
  const ends = ['DONE', 'TOTAL', 'PASS', 'FAILED', 'ERRORS'].map((h) => head.indexOf(h) + h.length);
  for (const r of rows.slice(1)) {
    for (const at of starts) assert.match(r.slice(at - 2, at + 1), /^ {2}\S$/, `column at ${at} in\n${s.stdout}`);
    for (const at of ends) assert.match(r.slice(at - 1, at + 2), /^\S {2}$/, `number ending at ${at} in\n${s.stdout}`);
  }
  const done = rows.find((r) => r.includes('completed')) as string;
  assert.match(
    done,
    / completed +30 +30 +96\.7% +1 +0 +failed +no limit +nohup +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30 +- not running$/,
  );
  const live = rows.find((r) => r.includes('paused')) as string;
  assert.match(live, / running \(paused\) +\d+ +2000 .* nohup +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30 +\d+ alive$/);
  // The shown time is the run's creation time (run.json, UTC) in that zone.
  const created = (JSON.parse((await b.launch(['--status', runDir, '--json'])).stdout) as { created: string }).created;
  const shown = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) (\+05:30)/.exec(live) as RegExpExecArray;
  assert.equal(Date.parse(`${shown[1]}T${shown[2]}${shown[3]}`), Math.floor(Date.parse(created) / 1000) * 1000);
  // --json: one object per run, the same runs and numbers as the table.
  const j = await b.launch(['--status', '--json'], { env });
  const objs = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; state: string; done: number; total: number; paused: boolean });
  assert.deepEqual(
    objs.map((o) => o.id).sort(),
    rows
      .slice(1)
      .map((r) => r.split(' ')[0])
      .sort(),
  );
  assert.deepEqual(objs.map((o) => [o.state, o.total, o.paused]).sort(), [
    ['completed', 30, false],
    ['running', 2000, true],
  ]);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { readDefaultReports } from './test-support/report-files.js';

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-merge-flows-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const flowTest = (id: string, flow: string) => ({ ...testRecord(id), flow });
const phaseTest = (id: string, phase: 'setup' | 'teardown') => ({ ...testRecord(id), phase });
const flowResult = (id: string, status: string, at: number, flow: string, extra: Record<string, unknown> = {}) => ({
  ...result(id, status, at),
  flow,
  ...extra,
});
const phaseResult = (id: string, status: string, at: number, phase: string, batch: string) => ({
  ...result(id, status, at, { batch }),
  phase,
});
const stopped = (id: string, at: number, flow: string, by: string) =>
  flowResult(id, 'error', at, flow, {
    attempts: 0,
    response: null,
    error: { code: 'FLOW_STOPPED', message: `not sent: row ${by} of flow ${flow} failed` },
  });

/**
 * Two batches, each carrying the login and logout rows. Flow a: complete and passed. Flow
 * b: stopped at its second row. Flow c: cut by a crash after its first row (a-1 passed),
 * then run again from its first row (flowRun 2): its earlier partial result is replaced.
 * Flow d: its last row never ran (incomplete).
 */
function flowRun() {
  const batches = {
    batch_0001: [
      phaseTest('login', 'setup'),
      flowTest('a1', 'a'),
      flowTest('a2', 'a'),
      flowTest('b1', 'b'),
      flowTest('b2', 'b'),
      flowTest('b3', 'b'),
      phaseTest('logout', 'teardown'),
    ],
    batch_0002: [
      phaseTest('login', 'setup'),
      flowTest('c1', 'c'),
      flowTest('c2', 'c'),
      flowTest('d1', 'd'),
      flowTest('d2', 'd'),
      testRecord('plain'),
      phaseTest('logout', 'teardown'),
    ],
  };
  const results = {
    'batch_0001.ndjson': lines([
      phaseResult('login', 'passed', 0, 'setup', 'batch_0001'),
      flowResult('a1', 'passed', 1, 'a'),
      flowResult('a2', 'passed', 2, 'a'),
      flowResult('b1', 'passed', 1, 'b'),
      flowResult('b2', 'failed', 2, 'b'),
      stopped('b3', 3, 'b', 'b2'),
      phaseResult('logout', 'failed', 4, 'teardown', 'batch_0001'),
    ]),
    'batch_0002.ndjson': lines([
      // the first process: logs in, runs c1, crashes
      phaseResult('login', 'passed', 0, 'setup', 'batch_0002'),
      flowResult('c1', 'failed', 1, 'c'),
      // the resumed process: logs in again, runs flow c again from its first row
      phaseResult('login', 'passed', 10, 'setup', 'batch_0002'),
      flowResult('c1', 'passed', 11, 'c', { flowRun: 2 }),
      flowResult('c2', 'passed', 12, 'c', { flowRun: 2 }),
      flowResult('d1', 'passed', 13, 'd'),
      { ...result('plain', 'passed', 14), batch: 'batch_0002' },
      phaseResult('logout', 'passed', 15, 'teardown', 'batch_0002'),
    ]),
  };
  return { batches, results };
}

test('setup and teardown are reported apart from the tests; flows are counted; a re-run flow replaces its partial results', async () => {
  const run = await writeRun(join(tmp.path, 'run'), flowRun());
  const junitFile = join(tmp.path, 'junit.xml');
  const htmlFile = join(tmp.path, 'report.html');
  const r = await runTool('capi-merge', [run, '--ndjson', '--junit', junitFile, '--html', htmlFile]);
  assert.equal(r.code, 1, r.stderr);
  // 10 tests: login and logout (in both batches) are not tests, and c1 is one test, not two
  assert.match(r.stderr, /capi-merge: 10 tests, 7 passed, 1 failed, 1 errors, 0 skipped, 1 missing, 1 flaky/);
  assert.match(r.stderr, /capi-merge: 4 flows: 2 complete, 1 stopped at a row, 1 incomplete, 1 re-run\n/);
  assert.match(
    r.stderr,
    /capi-merge: not tests: setup 3 runs \(0 failed or errors\), teardown 2 runs \(1 failed or errors\)\n/,
  );
  const merged = parseLines(r.stdout) as Array<{ id: string; status: string; flow?: string; flowRun?: number }>;
  assert.deepEqual(merged.map((t) => t.id).sort(), ['a1', 'a2', 'b1', 'b2', 'b3', 'c1', 'c2', 'd1', 'plain'].sort());
  const c1 = merged.find((t) => t.id === 'c1');
  assert.equal(c1?.status, 'passed');
  assert.equal(c1?.flowRun, 2);
  assert.equal(c1?.flow, 'c');
  assert.equal(
    merged.some((t) => t.id === 'login' || t.id === 'logout'),
    false,
  );

  const rep = await readDefaultReports(join(run, 'report'));
  const s = rep.json.summary;
  assert.equal(s.counts.total, 10);
  // a is complete and passed; c ran again and completed, so it is complete too
  assert.deepEqual(s.flows, { total: 4, complete: 2, passed: 2, stopped: 1, incomplete: 1, rerun: 1 });
  assert.deepEqual(s.phases.setup, { runs: 3, passed: 3, failed: 0, errors: 0, skipped: 0 });
  assert.deepEqual(s.phases.teardown, { runs: 2, passed: 1, failed: 1, errors: 0, skipped: 0 });
  assert.equal(s.phases.teardownFailed, 1, "batch_0001's teardown failed: it fails the run (teardown>0)");
  assert.deepEqual(
    rep.json.thresholds.filter((t: { crossed: boolean }) => t.crossed).map((t: { expr: string }) => t.expr),
    ['failed>0', 'errors>0', 'missing>0', 'teardown>0'],
  );
  assert.equal(s.phases.problems[0].id, 'logout');
  assert.equal(s.phases.problems[0].batch, 'batch_0001');
  assert.match(
    rep.txt,
    /flows: {5}4 {2}\(complete 2, of them all passed 2; stopped at a row 1; incomplete 1; re-run on resume 1\)/,
  );
  assert.match(rep.txt, /setup and teardown \(not tests: every process runs them; a re-login runs setup again\)/);
  assert.match(rep.txt, / {2}setup {5}3 runs: 3 passed, 0 failed, 0 errors, 0 skipped/);
  assert.match(rep.txt, / {2}teardown {2}2 runs: 1 passed, 1 failed, 0 errors, 0 skipped/);
  assert.match(rep.txt, / {2}teardown logout failed in batch_0001: status: expected 2xx, got 500/);
  const html = await readFile(htmlFile, 'utf8');
  assert.match(html, /<section id="flows"><h2>Flows, setup and teardown<\/h2><pre>flows: /);
  // the JUnit report holds the tests only
  const junit = await readFile(junitFile, 'utf8');
  assert.equal(junit.includes('name="login"') || junit.includes('logout'), false);
  assert.match(junit, /tests="10"/);
});

test('a suite without flows has no flow or setup lines, and its records gain no flow fields', async () => {
  const run = await writeRun(join(tmp.path, 'plain'), {
    batches: { batch_0001: [testRecord('T1')] },
    results: { 'batch_0001.ndjson': lines([result('T1', 'passed', 1)]) },
  });
  const r = await runTool('capi-merge', [run, '--ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /\d flows:|not tests/);
  const [t1] = parseLines(r.stdout) as Array<Record<string, unknown>>;
  assert.equal('flow' in (t1 as object), false);
  assert.equal('flowRun' in (t1 as object), false);
  const rep = await readDefaultReports(join(run, 'report'));
  assert.equal(rep.json.summary.flows, null);
  assert.doesNotMatch(rep.txt, /flows:|setup and teardown/);
});

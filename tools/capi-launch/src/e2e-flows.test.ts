import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@capi/testkit';
import {
  demoFor,
  type Manifest,
  readJson,
  runDirOf,
  type Sandbox,
  sandboxes,
  startDemo,
  until,
} from './test-support/harness.js';

// Flows end to end (issue 13): the real capi-split, capi-exec and capi-merge run the example
// flows suite (a login per worker, 12 create-read-change-delete flows, one stopped by a
// designed failure) against the demo API, with several workers, and after a kill -9.

const demo = demoFor(40);
const box = sandboxes(false);
const flows = join(repoRoot, 'examples', 'flows.csv');
// the demo API's default client; CAPI_ variables a suite may read without --allow-env
const credentials = { CAPI_CLIENT_ID: 'demo-client', CAPI_CLIENT_SECRET: 'demo-client-secret' };

interface Result {
  id: string;
  status: string;
  flow?: string;
  phase?: string;
  flowRun?: number;
}

/** Every result record of a run's journals, in file order. */
function journalRecords(runDir: string): Result[] {
  const out: Result[] = [];
  for (const f of readdirSync(join(runDir, 'results'))
    .filter((n) => n.endsWith('.ndjson'))
    .sort())
    for (const line of readFileSync(join(runDir, 'results', f), 'utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as Result);
  return out;
}

/** The merged JSON report of a run. */
// biome-ignore lint/suspicious/noExplicitAny: the test reads many fields of the report
function mergedReport(runDir: string): any {
  const dir = join(runDir, 'report');
  const name = readdirSync(dir)
    .filter((f) => /^aggregated_results_\d{8}_\d{6}\.json$/.test(f))
    .sort()
    .pop();
  return JSON.parse(readFileSync(join(dir, name as string), 'utf8'));
}

/** The designed outcome, every flow exactly once in the merged report. */
function assertEveryFlowOnce(runDir: string): void {
  const report = mergedReport(runDir);
  const s = report.summary;
  assert.deepEqual(
    [s.counts.total, s.counts.passed, s.counts.failed, s.counts.errors, s.counts.missing],
    [84, 81, 1, 2, 0],
  );
  const ids = (report.tests as Result[]).map((t) => t.id);
  assert.equal(new Set(ids).size, 84, 'each test once');
  assert.equal(ids.includes('login') || ids.includes('still-logged-in'), false, 'setup and teardown are not tests');
  const perFlow = new Map<string, number>();
  for (const t of report.tests as Result[]) perFlow.set(t.flow as string, (perFlow.get(t.flow as string) ?? 0) + 1);
  assert.equal(perFlow.size, 12);
  for (const [flow, n] of perFlow) assert.equal(n, 7, `flow ${flow} has its 7 rows once each`);
  assert.equal(s.flows.total, 12);
  assert.equal(s.flows.complete, 11);
  assert.equal(s.flows.stopped, 1);
  assert.equal(s.flows.incomplete, 0);
  const stopped = (report.tests as Array<Result & { error: { code: string } | null }>).filter(
    (t) => t.error?.code === 'FLOW_STOPPED',
  );
  assert.deepEqual(stopped.map((t) => t.id).sort(), ['F07-delete', 'F07-gone']);
  assert.equal(s.phases.setup.failed + s.phases.setup.errors, 0);
}

test('the example flows suite, launched with 3 workers: every flow exactly once, a login per batch', async () => {
  const b = await box(credentials);
  const r = await b.launch([
    flows,
    '--parallel',
    '3',
    '--batch-size',
    '7',
    '--concurrency',
    '3',
    '--base-url',
    demo.url,
    '--wait',
  ]);
  // the designed failure of flow item-07
  assert.equal(r.code, 1, r.stderr);
  const runDir = runDirOf(r.stdout);
  const m = readJson<Manifest & { batches: number }>(join(runDir, 'run.json'));
  assert.equal(m.total, 84);
  assert.equal(m.batches, 12);
  assertEveryFlowOnce(runDir);
  const records = journalRecords(runDir);
  const tests = records.filter((x) => !x.phase);
  assert.equal(tests.length, 84, 'no test ran twice');
  assert.equal(records.filter((x) => x.phase === 'setup').length >= 12, true, 'each batch logged in for itself');
  assert.equal(mergedReport(runDir).summary.flows.rerun, 0);
});

test('kill -9 of a worker in the middle of flows, then --resume: every flow complete exactly once', async () => {
  const b = await box(credentials);
  // slow answers (300 ms: a flow takes about 2 s), so the kill lands inside flows
  const slow = await startDemo(300);
  try {
    await killMidFlowsThenResume(b, slow.url);
  } finally {
    slow.stop();
  }
});

async function killMidFlowsThenResume(b: Sandbox, url: string): Promise<void> {
  const r = await b.launch([flows, '--parallel', '1', '--batch-size', '84', '--concurrency', '4', '--base-url', url]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const journal = join(runDir, 'results', 'batch_0001.ndjson');
  const claim = await until('a few flow rows done', () => {
    if (!existsSync(journal)) return null;
    const done = readFileSync(journal, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"flow":"')).length;
    if (done < 6) return null;
    return JSON.parse(readFileSync(join(runDir, 'claims', 'batch_0001.json'), 'utf8')) as { pid: number };
  });
  // the supervisor first (it would restart the worker by itself), then the worker mid-flows
  process.kill(Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8')), 'SIGKILL');
  process.kill(claim.pid, 'SIGKILL');
  const cut = journalRecords(runDir).filter((x) => x.flow);
  assert.ok(cut.length < 84, `the kill came too late: ${cut.length} flow rows were done`);
  const again = await b.launch(['--resume', runDir, '--wait']);
  assert.equal(again.code, 1, again.stderr);
  assertEveryFlowOnce(runDir);
  const report = mergedReport(runDir);
  // flows cut by the kill ran again from their first row; their earlier results were replaced
  assert.ok(report.summary.flows.rerun >= 1, JSON.stringify(report.summary.flows));
  const rerun = (report.tests as Result[]).filter((t) => (t.flowRun ?? 1) > 1);
  const rerunFlows = new Set(rerun.map((t) => t.flow));
  for (const flow of rerunFlows)
    assert.equal(rerun.filter((t) => t.flow === flow).length, 7, `re-run flow ${flow} whole`);
  assert.ok(report.summary.superseded >= 1, 'the cut flows left earlier results in the journal');
  // two processes logged in
  assert.ok(journalRecords(runDir).filter((x) => x.phase === 'setup').length >= 2);
}

test('a failed teardown row fails the launched run though every test passed: run.json, exit code and capi-merge agree', async () => {
  const b = await box();
  const suite = join(b.dir, 'teardown.csv');
  // /items/N answers 200; the teardown row expects 204 from it, so it fails in each batch
  writeFileSync(
    suite,
    'id,url,expect_status,phase\nT1,/items/1,200,\nT2,/items/2,200,\nT3,/items/3,200,\nbye,/items/9,204,teardown\n',
  );
  const r = await b.launch([suite, '--parallel', '2', '--batch-size', '2', '--base-url', demo.url, '--wait']);
  assert.equal(r.code, 1, r.stderr);
  const runDir = runDirOf(r.stdout);
  const m = readJson<Manifest>(join(runDir, 'run.json'));
  assert.equal(m.verdict, 'failed');
  const log = readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8');
  assert.match(log, /results: 3\/3, passed 3, failed 0, errors 0, skipped 0, teardown rows failed 2/);
  assert.doesNotMatch(log, /differs from the journals'/, 'capi-merge judged the same by the same rule');
  const s = mergedReport(runDir).summary;
  assert.deepEqual([s.counts.passed, s.counts.failed, s.phases.teardownFailed], [3, 0, 2]);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPaths } from '@capi/core';
import { collect, killAll, parseLines, runTool, tempDir, testEnv } from '@capi/testkit';
import { exited, journalCounts, killChildren, startFakeRun, waitFor, watchBin } from './test-support/watch-helpers.js';

const tmp = await tempDir('capi-watch-live-');
after(async () => {
  killChildren();
  killAll();
  await tmp.cleanup();
});

interface Snap {
  runId: string;
  state: string;
  done: number;
  total: number;
  passed: number;
  failed: number;
  errors: number;
  ended: boolean;
  exitCode: number | null;
  resume: string | null;
}

test('--plain while a run goes on: blocks every interval, ends by itself with the verdict, numbers = journals', async () => {
  const runs = join(tmp.path, 'plain');
  const dir = join(runs, 'capi_test_plain');
  startFakeRun(dir, ['--total', '900', '--batches', '3', '--rate', '300', '--fail-every', '7', '--error-every', '40']);
  await waitFor('run.json', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const r = await runTool('capi-watch', ['--plain', '--interval', '1'], { env: { CAPI_RUNS_DIR: runs } });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(!r.stdout.includes('\u001b'), 'no escape codes');
  const blocks = r.stdout.split(/^={80}\n {26}CAPI Test Execution Monitor\n={80}$/m).filter((b) => b.trim());
  assert.ok(blocks.length >= 2, `expected several blocks, got ${blocks.length}`);
  assert.match(blocks[0] as string, /^Status: RUNNING$/m);
  const last = blocks.at(-1) as string;
  const c = await journalCounts(runPaths(dir).results);
  assert.equal(c.done, 900);
  assert.match(last, /^Status: COMPLETED$/m);
  assert.match(last, /^Tests Completed: 900 \/ 900$/m);
  assert.match(last, new RegExp(`^Passed: ${c.passed}  Failed: ${c.failed}  Errors: ${c.error}  Skipped: 0$`, 'm'));
  assert.match(last, /^Verdict: FAILED$/m);
});

test('--json while a run goes on: snapshots only grow, the last one is the final count; exit 0 when all passed', async () => {
  const runs = join(tmp.path, 'json');
  const dir = join(runs, 'capi_test_json');
  startFakeRun(dir, ['--total', '600', '--batches', '2', '--rate', '300']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const r = await runTool('capi-watch', ['--json', '--interval', '1', 'capi_test_json'], {
    env: { CAPI_RUNS_DIR: runs },
  });
  assert.equal(r.code, 0, r.stderr);
  const snaps = parseLines(r.stdout) as Snap[];
  assert.ok(snaps.length >= 2);
  for (let i = 1; i < snaps.length; i++) assert.ok((snaps[i] as Snap).done >= (snaps[i - 1] as Snap).done);
  const last = snaps.at(-1) as Snap;
  assert.deepEqual(
    [last.state, last.done, last.total, last.passed, last.ended, last.exitCode],
    ['COMPLETED', 600, 600, 600, true, 0],
  );
});

test('DEAD: the supervisor dies mid-run; the watch says so, prints the resume command and exits 3', async () => {
  const runs = join(tmp.path, 'dead');
  const dir = join(runs, 'capi_test_dead');
  const fake = startFakeRun(dir, ['--total', '300', '--batches', '2', '--rate', '300', '--end', 'exit']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const r = await runTool('capi-watch', ['--plain', '--interval', '60'], { env: { CAPI_RUNS_DIR: runs } });
  await exited(fake);
  assert.equal(r.code, 3, r.stdout);
  const last = r.stdout.slice(r.stdout.lastIndexOf('CAPI Test Execution Monitor'));
  assert.match(last, /^Status: DEAD$/m);
  assert.match(last, /^Resume: capi-launch --resume capi_test_dead$/m);
  assert.match(last, /^Tests Completed: 300 \/ 300$/m);
});

test('STALLED when heartbeats stop while the supervisor lives; DEAD once it is gone', async () => {
  const runs = join(tmp.path, 'stalled');
  const dir = join(runs, 'capi_test_stall');
  const fake = startFakeRun(dir, ['--total', '200', '--batches', '2', '--rate', '400', '--end', 'hang']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const child = spawn(process.execPath, [watchBin, '--json', '--interval', '1', '--stall-after', '2'], {
    env: testEnv({ CAPI_RUNS_DIR: runs }),
  });
  const result = collect(child, { timeoutMs: 30_000 });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const stalled = await waitFor('a STALLED snapshot', () =>
    (parseLines(out.slice(0, out.lastIndexOf('\n') + 1)) as Snap[]).find((s) => s.state === 'STALLED'),
  );
  assert.equal(stalled.resume, 'capi-launch --stop capi_test_stall && capi-launch --resume capi_test_stall');
  assert.equal(stalled.exitCode, null);
  assert.equal(child.exitCode, null, 'a stalled run is still watched');
  fake.kill('SIGKILL');
  const r = await result;
  assert.equal(r.code, 3);
  assert.equal((parseLines(r.stdout).at(-1) as Snap).state, 'DEAD');
});

test('a bare capi-exec watched through --status and --journal, live', async () => {
  const dir = join(tmp.path, 'exec');
  await mkdir(dir);
  startFakeRun(dir, ['--exec', '--total', '300', '--rate', '300', '--fail-every', '10']);
  const status = join(dir, 'status.json');
  const journal = join(dir, 'journal.ndjson');
  const r = await runTool('capi-watch', ['--json', '--interval', '1', '--status', status, '--journal', journal]);
  assert.equal(r.code, 1, r.stderr);
  const last = parseLines(r.stdout).at(-1) as Snap;
  assert.deepEqual([last.state, last.done, last.total, last.failed], ['COMPLETED', 300, 300, 30]);
});

test('--follow: after one run ends, the next run is watched too', async () => {
  const runs = join(tmp.path, 'follow');
  const first = startFakeRun(join(runs, 'capi_test_20260101_000001'), [
    '--total',
    '100',
    '--batches',
    '1',
    '--rate',
    '400',
  ]);
  await exited(first);
  const child = spawn(process.execPath, [watchBin, '--json', '--interval', '1', '--follow'], {
    env: testEnv({ CAPI_RUNS_DIR: runs }),
  });
  const result = collect(child, { timeoutMs: 30_000 });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await waitFor('the first run, ended', () => out.includes('"capi_test_20260101_000001"') || undefined);
  startFakeRun(join(runs, 'capi_test_20260101_000002'), ['--total', '100', '--batches', '1', '--rate', '400']);
  const second = await waitFor('the second run, completed', () =>
    (parseLines(out.slice(0, out.lastIndexOf('\n') + 1)) as Snap[]).find(
      (s) => s.runId === 'capi_test_20260101_000002' && s.state === 'COMPLETED',
    ),
  );
  assert.equal(second.done, 100);
  assert.equal(child.exitCode, null, '--follow keeps watching');
  child.kill('SIGTERM');
  await result;
});

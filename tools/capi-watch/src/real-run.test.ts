import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPaths } from '@capi/core';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { binPath, collect, killAll, parseLines, runTool, tempDir, testEnv } from '@capi/testkit';
import { dashboardCommand, hasTmux, journalCounts, tmuxServer, waitFor } from './test-support/watch-helpers.js';

/** capi-watch on runs of the real capi-exec and capi-launch against the demo API. */

const tmp = await tempDir('capi-watch-real-');
const tmux = tmuxServer(`capiwr${process.pid}`);
const runs = join(tmp.path, 'runs');
let api: DemoApi;
before(async () => {
  api = await startDemoApi({ latencyMs: 20 });
});
after(async () => {
  await tmux.kill();
  // Every run a test started is stopped at once, workers included.
  await runTool('capi-launch', ['--stop', '--force', '--runs-dir', runs, 'latest']).catch(() => {});
  killAll();
  await api?.close();
  await tmp.cleanup();
});

/** `count` tests of GET /items/N; every 10th expects 201 and fails (the API answers 200). */
function suiteCsv(count: number): string {
  const rows = Array.from(
    { length: count },
    (_, i) => `T${String(i + 1).padStart(4, '0')},/items/${i + 1},${i % 10 === 9 ? 201 : 200}`,
  );
  return `id,url,expect_status\n${rows.join('\n')}\n`;
}

interface Snap {
  state: string;
  done: number;
  total: number;
  passed: number;
  failed: number;
  errors: number;
  exitCode: number | null;
}

test('a bare capi-exec with --status and --journal, watched with --json to its end', async () => {
  const dir = join(tmp.path, 'exec');
  const records = Array.from({ length: 300 }, (_, i) => ({
    id: `E${i + 1}`,
    request: { method: 'GET', url: `/items/${i + 1}` },
    expect: { status: i % 10 === 9 ? '201' : '200' },
  }));
  const input = join(tmp.path, 'tests.ndjson');
  await writeFile(input, records.map((r) => JSON.stringify(r)).join('\n'));
  const status = join(dir, 'status.json');
  const journal = join(dir, 'journal.ndjson');
  const exec = spawn(
    process.execPath,
    [
      binPath('capi-exec'),
      '--in',
      input,
      '--base-url',
      api.url,
      '--rate',
      '150/s',
      '--concurrency',
      '4',
      '--journal',
      journal,
      '--status',
      status,
      '--total',
      '300',
    ],
    { env: testEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const execDone = collect(exec, { timeoutMs: 60_000 });
  await waitFor('the heartbeat', () => readFile(status, 'utf8').then(() => true));
  const r = await runTool('capi-watch', ['--json', '--interval', '1', '--status', status, '--journal', journal]);
  const e = await execDone;
  assert.equal(e.code, 1, e.stderr);
  assert.equal(r.code, 1, r.stderr);
  const snaps = parseLines(r.stdout) as Snap[];
  assert.ok(
    snaps.some((s) => s.state === 'RUNNING'),
    'seen running',
  );
  const last = snaps.at(-1) as Snap;
  const c = await journalCounts(dir);
  assert.deepEqual(
    [last.state, last.done, last.total, last.passed, last.failed],
    ['COMPLETED', 300, 300, c.passed, c.failed],
  );
  assert.equal(c.failed, 30);
});

test('the dashboard on a capi-launch run: numbers match the journals; s then y stops the real supervisor', {
  skip: !(await hasTmux()) && 'no tmux',
}, async () => {
  const suite = join(tmp.path, 'suite.csv');
  await writeFile(suite, suiteCsv(400));
  const launched = await runTool('capi-launch', [
    suite,
    '--runs-dir',
    runs,
    '--parallel',
    '2',
    '--batch-size',
    '100',
    '--base-url',
    api.url,
    '--rate',
    '200/s',
  ]);
  assert.equal(launched.code, 0, JSON.stringify(launched));
  const dir = await waitFor('the run folder', async () => {
    const m = JSON.parse(await readFile(join(runs, 'latest', 'run.json'), 'utf8'));
    return join(runs, m.id as string);
  });
  const session = await tmux.start(dashboardCommand([], { CAPI_RUNS_DIR: runs }));
  let seen = '';
  const done = await waitFor(
    'a COMPLETED screen',
    async () => {
      seen = await tmux.capture(session);
      return /State COMPLETED/.test(seen) ? seen : undefined;
    },
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}\n${seen}`);
  });
  const c = await journalCounts(runPaths(dir).results);
  assert.equal(c.done, 400);
  assert.match(done, /400 \/ 400 \(100\.0%\)/);
  assert.match(done, new RegExp(`│passed\\s+${c.passed}\\b`));
  assert.match(done, new RegExp(`│failed\\s+${c.failed}\\b`));
  assert.match(done, /verdict FAILED/);
  await tmux.keys(session, 'q');
  assert.equal(await waitFor('the exit code', async () => (await tmux.capture(session)).match(/EXIT=(\d+)/)?.[1]), '1');

  // A slow second run, stopped from the dashboard.
  const slow = join(tmp.path, 'slow.csv');
  await writeFile(slow, suiteCsv(5000));
  const second = await runTool('capi-launch', [
    slow,
    '--runs-dir',
    runs,
    '--parallel',
    '2',
    '--batch-size',
    '100',
    '--base-url',
    api.url,
    '--rate',
    '40/s',
  ]);
  assert.equal(second.code, 0, second.stderr);
  const m2 = JSON.parse(await readFile(join(runs, 'latest', 'run.json'), 'utf8'));
  const watch = await tmux.start(dashboardCommand([m2.id], { CAPI_RUNS_DIR: runs }));
  await waitFor(
    'a RUNNING screen with results',
    async () => {
      const s = await tmux.capture(watch);
      return /State RUNNING/.test(s) && /│passed\s+[1-9]/.test(s) ? s : undefined;
    },
    30_000,
  );
  await tmux.keys(watch, 's');
  await waitFor('the question', async () => /Stop run /.test(await tmux.capture(watch)) || undefined);
  await tmux.keys(watch, 'y');
  const stopped = await waitFor(
    'a STOPPED screen',
    async () => {
      const s = await tmux.capture(watch);
      return /State STOPPED/.test(s) ? s : undefined;
    },
    40_000,
  );
  assert.match(stopped, new RegExp(`resume: capi-launch --resume ${m2.id}`));
  const manifest = JSON.parse(await readFile(join(runs, m2.id, 'run.json'), 'utf8'));
  assert.equal(manifest.state, 'stopped');
  const left = await journalCounts(join(runs, m2.id, 'results'));
  assert.ok(left.done > 0 && left.done < 5000, `stopped part way (${left.done})`);
  await tmux.keys(watch, 'q');
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { totalCounts } from './run-state.js';
import { type RunWatch, startRunWatch } from './run-watch.js';

const root = await mkdtemp(join(tmpdir(), 'capi-watch-live-'));
const watches: RunWatch[] = [];
after(async () => {
  for (const w of watches) await w.close();
  await rm(root, { recursive: true, force: true });
});

/** Resolves when `check` holds after a tick; fails after `ms`. */
function until(onTick: { fn: () => void }, check: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not seen in time: ${what}`)), ms);
    onTick.fn = () => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
}

test('heartbeats and logs arrive by file events, journals are tailed on the clock', async () => {
  const dir = join(root, 'capi_test_1');
  await mkdir(join(dir, 'results'), { recursive: true });
  // a stand-in supervisor: core's identity check wants `--supervise RUN` in its argv
  const supervisor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', '--supervise', dir], {
    stdio: 'ignore',
  });
  after(() => {
    supervisor.kill('SIGKILL');
  });
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({
      id: 'capi_test_1',
      state: 'running',
      total: 3,
      pid: supervisor.pid,
      suite: { file: '/suite.csv' },
      options: {},
    }),
  );
  const hook = { fn: () => {} };
  const watch = await startRunWatch(
    { kind: 'run', id: 'capi_test_1', dir },
    { tickMs: 50, sweepMs: 60_000, onTick: () => hook.fn() },
  );
  watches.push(watch);
  assert.equal(totalCounts(watch.state).done, 0);
  // status/ appears after the watch started, as it does when a run begins; capi-exec
  // writes its first heartbeat before its first result.
  let ready = until(hook, () => watch.state.batches.get('batch_0001')?.heartbeat?.state === 'running', 'heartbeat');
  await writeFileAtomic(join(dir, 'status', 'batch_0001.json'), JSON.stringify({ state: 'running', pid: process.pid }));
  await ready;
  const line = (id: string, status: string) => `${JSON.stringify({ id, name: id, status })}\n`;
  ready = until(hook, () => totalCounts(watch.state).done === 2, 'two lines');
  await appendFile(join(dir, 'results', 'batch_0001.ndjson'), `${line('a', 'passed') + line('b', 'failed')}{"id":"c",`);
  await ready;
  assert.equal(totalCounts(watch.state).failed, 1);
  // The last line and the final heartbeat land together: the journal is read once more.
  ready = until(hook, () => totalCounts(watch.state).done === 3, 'third line');
  await appendFile(join(dir, 'results', 'batch_0001.ndjson'), '"name":"c","status":"error"}\n');
  await writeFileAtomic(
    join(dir, 'status', 'batch_0001.json'),
    JSON.stringify({ state: 'completed', pid: process.pid }),
  );
  await ready;
  ready = until(hook, () => watch.state.logs.length > 0, 'log line');
  await mkdir(join(dir, 'logs'));
  await appendFile(join(dir, 'logs', 'batch_0001.log'), 'hello\n');
  await ready;
  assert.deepEqual(watch.state.logs, ['batch_0001.log: hello']);
  assert.deepEqual(totalCounts(watch.state), { done: 3, passed: 1, failed: 1, errors: 1, skipped: 0 });
  assert.equal(watch.state.alive.get(supervisor.pid as number), true);
});

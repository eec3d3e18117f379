import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { standInSupervisor } from '@capi/testkit';
import { totalCounts } from './run-state.js';
import { LATE_FOLDER_SETTLE_MS, type RunWatch, startRunWatch } from './run-watch.js';

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
  const supervisor = await standInSupervisor(dir);
  after(() => supervisor.stop());
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
  assert.equal(watch.state.alive.get(supervisor.pid), true);
});

test('a folder made after the start is swept at once and again LATE_FOLDER_SETTLE_MS later, not on every tick', async () => {
  // chokidar lists a new folder before it watches it: a file written in between gets no
  // event, so only the second sweep reads it (with the slow sweep a minute away here).
  const dir = join(root, 'capi_test_2');
  await mkdir(join(dir, 'results'), { recursive: true });
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({ id: 'capi_test_2', state: 'running', total: 1, suite: { file: '/suite.csv' }, options: {} }),
  );
  let clock = 1_000_000;
  const changes: boolean[] = [];
  const hook = { fn: () => {} };
  const watch = await startRunWatch(
    { kind: 'run', id: 'capi_test_2', dir },
    {
      tickMs: 20,
      sweepMs: 60_000,
      aliveMs: 60_000,
      now: () => clock,
      onTick: (_state, changed) => {
        changes.push(changed);
        hook.fn();
      },
    },
  );
  watches.push(watch);
  /** The `changed` of the next `n` ticks. */
  const nextTicks = (n: number) => {
    const from = changes.length;
    return until(hook, () => changes.length >= from + n, `${n} ticks`).then(() => changes.slice(from, from + n));
  };
  assert.deepEqual(await nextTicks(3), [false, false, false]);
  let swept = until(hook, () => changes.at(-1) === true, 'the sweep at once');
  await mkdir(join(dir, 'status'));
  await swept;
  assert.deepEqual(await nextTicks(3), [false, false, false]);
  clock += LATE_FOLDER_SETTLE_MS - 1;
  assert.deepEqual(await nextTicks(3), [false, false, false]);
  clock += 1;
  swept = until(hook, () => changes.at(-1) === true, 'the sweep again');
  await swept;
  assert.deepEqual(await nextTicks(3), [false, false, false]);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdingRunManifest } from './run-manifest-lock.js';

const root = await mkdtemp(join(tmpdir(), 'capi-run-manifest-lock-'));
after(() => rm(root, { recursive: true, force: true }));

test('a wait for run.json.lock is noted once unless noteMs asks for more, and a stop ends it', async () => {
  const once: number[] = [];
  const every: number[] = [];
  let stopped: unknown = null;
  const stop = new AbortController();
  let waiters: Promise<unknown> = Promise.resolve();
  // held by a live holder (this process) for 2.5 s: the waiters wait, touched all along
  await holdingRunManifest(root, async () => {
    const a = holdingRunManifest(root, async () => {}, { onWait: (ms) => once.push(ms) });
    const b = holdingRunManifest(root, async () => {}, { onWait: (ms) => every.push(ms), noteMs: 1000 });
    const c = holdingRunManifest(root, async () => 'taken', { signal: stop.signal }).catch((err: unknown) => {
      stopped = err;
    });
    await sleep(300);
    stop.abort(new Error('stopped by SIGINT'));
    await c;
    assert.equal((stopped as Error | null)?.message, 'stopped by SIGINT', 'a stop ends the wait at once');
    waiters = Promise.all([a, b]);
    await sleep(2200);
  });
  await waiters;
  assert.equal(once.length, 1, `noted once: ${once}`);
  assert.ok(every.length >= 2, `noted every second: ${every}`);
});

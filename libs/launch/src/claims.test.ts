import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { claimNext, readClaims, releaseUnfinished, writeClaim } from './claims.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function runDir() {
  const d = await mkdtemp(join(tmpdir(), 'capi-claims-'));
  dirs.push(d);
  return d;
}

test('workers racing for batches never share one, and every batch is taken once', async () => {
  const dir = await runDir();
  const batches = Array.from({ length: 40 }, (_, i) => `batch_${String(i + 1).padStart(4, '0')}`);
  const taken: string[] = [];
  const worker = async (k: number) => {
    for (let c = await claimNext(dir, batches, k); c; c = await claimNext(dir, batches, k)) taken.push(c.batch);
  };
  await Promise.all([1, 2, 3, 4, 5, 6].map(worker));
  assert.equal(taken.length, 40);
  assert.deepEqual([...taken].sort(), batches);
  assert.equal(await claimNext(dir, batches, 9), null);
});

test('releaseUnfinished frees running and failed claims, keeps done ones', async () => {
  const dir = await runDir();
  const batches = ['batch_0001', 'batch_0002', 'batch_0003'];
  const a = await claimNext(dir, batches, 1);
  const b = await claimNext(dir, batches, 2);
  const c = await claimNext(dir, batches, 3);
  assert.ok(a && b && c);
  await writeClaim(dir, { ...a, state: 'done', exitCode: 0 });
  await writeClaim(dir, { ...c, state: 'failed', exitCode: 3 });
  const released = await releaseUnfinished(dir, await readClaims(dir));
  assert.deepEqual(released.map((x) => x.batch).sort(), ['batch_0002', 'batch_0003']);
  assert.deepEqual(
    (await readClaims(dir)).map((x) => [x.batch, x.state]),
    [['batch_0001', 'done']],
  );
  const again = await claimNext(dir, batches, 4);
  assert.equal(again?.batch, 'batch_0002');
  const onDisk = JSON.parse(await readFile(join(dir, 'claims', 'batch_0002.json'), 'utf8'));
  assert.equal(onDisk.worker, 4);
});

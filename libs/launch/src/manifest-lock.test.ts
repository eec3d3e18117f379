import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runPaths } from '@capi/core';
import { holdingManifest } from './manifest.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capi-manifest-lock-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('run.json.lock: a live writer slower than 10 s (a slow or full disk) is waited for, not broken and overlapped, nor given up on', async () => {
  const log: string[] = [];
  const slow = holdingManifest(dir, async () => {
    log.push('A in');
    await sleep(10_500); // a writeFileAtomic stuck behind a slow disk, the process alive
    log.push('A out');
  });
  await sleep(200);
  const other = holdingManifest(dir, async () => {
    log.push('B in');
    log.push('B out');
  });
  await Promise.all([slow, other]);
  assert.deepEqual(log, ['A in', 'A out', 'B in', 'B out'], 'B entered while A, alive, still held the lock');
});

test('run.json.lock: a holder whose lock was broken and taken by another leaves that other lock in place', async () => {
  const lock = `${runPaths(dir).manifest}.lock`;
  const others = `${process.pid}\nanother-holder\n`;
  await holdingManifest(dir, async () => {
    // as if this holder had stopped past 5 s and another writer broke its lock and took it
    await writeFile(lock, others);
  });
  assert.equal(await readFile(lock, 'utf8').catch(() => null), others, "the other writer's lock was removed");
  await rm(lock, { force: true });
});

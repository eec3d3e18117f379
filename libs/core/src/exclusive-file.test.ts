import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exclusiveFileHeld, withExclusiveFile } from './exclusive-file.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capi-exclusive-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that was alive a moment ago and is gone now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('exclusiveFileHeld: held while withExclusiveFile runs, not before or after', async () => {
  const lock = join(dir, 'a.lock');
  assert.equal(await exclusiveFileHeld(lock), false, 'no lock');
  await withExclusiveFile(lock, { waitMs: 1000 }, async () => {
    assert.equal(await exclusiveFileHeld(lock), true, 'held by this process');
  });
  assert.equal(await exclusiveFileHeld(lock), false, 'let go');
});

test('exclusiveFileHeld: a lock whose holder is gone, or an old empty one, is not held (the rule that breaks them)', async () => {
  const lock = join(dir, 'b.lock');
  await writeFile(lock, `${deadPid()}\n`);
  assert.equal(await exclusiveFileHeld(lock), false, 'dead holder');
  await writeFile(lock, '');
  assert.equal(await exclusiveFileHeld(lock), true, 'an empty lock is one being written');
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  assert.equal(await exclusiveFileHeld(lock), false, 'an empty lock a minute old');
  await writeFile(lock, `${process.pid}\n`);
  assert.equal(await exclusiveFileHeld(lock), true, 'a live holder');
  // written before its holder started: the pid was reused, the lock is a dead one's
  await utimes(lock, old, old);
  assert.equal(await exclusiveFileHeld(lock), false, 'a reused pid');
});

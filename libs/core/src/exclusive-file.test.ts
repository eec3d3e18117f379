import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exclusiveFileHeld, sayOnceWaited, withExclusiveFile } from './exclusive-file.js';

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

test('whileLive: a holder that touches its lock is waited for past waitMs, with notes at intervals; a silent one is given up on', async () => {
  const lock = join(dir, 'live.lock');
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const holder = withExclusiveFile(lock, { waitMs: 1000, touchMs: 30 }, () => held);
  await new Promise((r) => setTimeout(r, 50));
  const waits: number[] = [];
  const waiter = withExclusiveFile(
    lock,
    { waitMs: 300, whileLive: true, noteMs: 200, onWait: (ms) => waits.push(ms) },
    async () => 'taken',
  );
  // three times waitMs: a fixed wait would have given up
  await new Promise((r) => setTimeout(r, 900));
  release();
  await holder;
  assert.equal(await waiter, 'taken');
  assert.ok(waits.length >= 4, `noted at first and every 200 ms: ${waits.join(', ')}`);
  assert.ok((waits[0] as number) < 1000);

  // the same holder alive (this process) but its lock never touched: silent, given up on
  await writeFile(lock, `${process.pid}\ntoken\n`);
  await assert.rejects(
    withExclusiveFile(lock, { waitMs: 200, whileLive: true }, async () => {}),
    /live\.lock: held by a process that has shown no sign of life for 0 s \(hung, stopped, or on a machine that went away\)/,
  );
  await rm(lock);
});

test("a lock written on another machine is not judged by this machine's pids: held, not broken", async () => {
  const lock = join(dir, 'foreign.lock');
  await writeFile(lock, `${deadPid()}\ntoken\nanother-host.example\n`);
  assert.equal(await exclusiveFileHeld(lock), true, 'a pid gone here may be alive there');
  await assert.rejects(
    withExclusiveFile(lock, { waitMs: 100 }, async () => {}),
    /still held after 0 s/,
  );
  await writeFile(lock, `${deadPid()}\ntoken\n`);
  assert.equal(
    await exclusiveFileHeld(lock),
    false,
    "a lock without a host is this machine's (written before the host was)",
  );
  await writeFile(lock, `${deadPid()}\ntoken\n${hostname()}\n`);
  assert.equal(await exclusiveFileHeld(lock), false, "this machine's, its holder gone");
  await rm(lock, { force: true });
});

test('a stop (signal) while waiting for a live holder throws its reason at once, the lock not taken', async () => {
  const lock = join(dir, 'stopped.lock');
  const held = `${process.pid}\nother\n${hostname()}\n`;
  await writeFile(lock, held);
  const stop = new AbortController();
  const reason = new Error('stopped by SIGTERM');
  let waited = false;
  setTimeout(() => stop.abort(reason), 100);
  const started = performance.now();
  await assert.rejects(
    withExclusiveFile(
      lock,
      { waitMs: 60_000, whileLive: true, touchMs: 1000, signal: stop.signal, onWait: () => (waited = true) },
      async () => assert.fail('the section must not run'),
    ),
    (e) => e === reason,
  );
  assert.ok(waited);
  assert.ok(performance.now() - started < 5_000, 'not the 60 s wait');
  assert.equal(await readFile(lock, 'utf8'), held, "the holder's lock is left");
});

test('sayOnceWaited: nothing for a short wait, one word once it has lasted, then no more', () => {
  const said: number[] = [];
  const o = sayOnceWaited(1000, () => said.push(said.length));
  assert.equal(o.noteMs, 1000);
  o.onWait?.(0);
  o.onWait?.(999);
  assert.deepEqual(said, []);
  o.onWait?.(1000);
  o.onWait?.(2000);
  o.onWait?.(5000);
  assert.deepEqual(said, [0]);
});

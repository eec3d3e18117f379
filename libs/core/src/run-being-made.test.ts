import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathExists } from './path-exists.js';
import { runBeingMade } from './run-being-made.js';

const root = await mkdtemp(join(tmpdir(), 'capi-being-made-'));
after(() => rm(root, { recursive: true, force: true }));

const hasManifest = (dir: string) => pathExists(join(dir, 'run.json'));
/** The runs folder's launch lock as a live capi-launch holds it: this process's pid. */
const holdLock = (runs: string) => writeFile(join(runs, '.launch.lock'), `${process.pid}\ntoken\n`);

test('no launch under way: the first look is the answer, at once, and nothing is waited for', async () => {
  const runs = join(root, 'quiet');
  await mkdir(join(runs, 'capi_test_20260101_000001'), { recursive: true });
  let told = '';
  const at = Date.now();
  assert.equal(await runBeingMade(join(runs, 'capi_test_20260101_000001'), hasManifest, (t) => (told = t)), 'not');
  assert.ok(Date.now() - at < 1_000);
  assert.equal(told, '');
  assert.equal(await runBeingMade(join(runs, 'capi_test_20260101_000009'), hasManifest, () => {}), 'gone');
});

test('while a live launch holds the lock: made once run.json is there, gone once the folder is removed', async () => {
  const runs = join(root, 'launching');
  const made = join(runs, 'capi_test_20260101_000002');
  const removed = join(runs, 'capi_test_20260101_000003');
  await mkdir(made, { recursive: true });
  await mkdir(removed, { recursive: true });
  await holdLock(runs);
  const notes: string[] = [];
  const a = runBeingMade(made, hasManifest, (t) => notes.push(t));
  const b = runBeingMade(removed, hasManifest, () => {});
  await new Promise((r) => setTimeout(r, 200));
  await writeFile(join(made, 'run.json'), '{}');
  await rm(removed, { recursive: true });
  assert.equal(await a, 'made');
  assert.equal(await b, 'gone');
  assert.match(notes.join('\n'), /capi_test_20260101_000002: no run\.json yet: waiting for the capi-launch of/);
  assert.equal(notes.length, 1, 'told once');
});

test('the lock let go with the folder still unmade: not; a holder that shows no life: held', async () => {
  const runs = join(root, 'ended');
  const dir = join(runs, 'capi_test_20260101_000004');
  await mkdir(dir, { recursive: true });
  await holdLock(runs);
  const ending = runBeingMade(dir, hasManifest, () => {});
  await new Promise((r) => setTimeout(r, 150));
  await rm(join(runs, '.launch.lock'));
  assert.equal(await ending, 'not');
  await holdLock(runs);
  assert.equal(await runBeingMade(dir, hasManifest, () => {}, { silentMs: 200 }), 'held');
  await rm(join(runs, '.launch.lock'));
});

test('a launch that holds the lock longer than any fixed wait, touching it, is waited for to the end, with notes at intervals', async () => {
  const runs = join(root, 'long');
  const dir = join(runs, 'capi_test_20260101_000005');
  await mkdir(dir, { recursive: true });
  await holdLock(runs);
  const lock = join(runs, '.launch.lock');
  // the holder's touches (holdingLaunch's touchMs)
  const touching = setInterval(() => utimes(lock, new Date(), new Date()).catch(() => {}), 30);
  const notes: string[] = [];
  // a clock 100 times fast: 1.2 s of waiting reads as 2 minutes
  const now = () => performance.now() * 100;
  const waiting = runBeingMade(dir, hasManifest, (t) => notes.push(t), { silentMs: 20_000, noteMs: 30_000, now });
  await new Promise((r) => setTimeout(r, 1_200));
  await writeFile(join(dir, 'run.json'), '{}');
  clearInterval(touching);
  assert.equal(await waiting, 'made');
  // the first note at once: "no run.json yet" in its first second, by the fast clock; a loaded
  // machine's first look may take more than 10 ms (a second of it), and the note then says how long
  const first =
    /capi_test_20260101_000005: (?:no run\.json yet: waiting for|still no run\.json after (\d+) s:) the capi-launch of/.exec(
      notes[0] ?? '',
    );
  assert.ok(first, notes[0]);
  assert.ok(Number(first[1] ?? 0) < 30, `the first note came after ${first[1]} s`);
  assert.ok(notes.length >= 3, `told at first, then every 30 s (of the fast clock): ${notes.length}`);
  const second =
    /capi_test_20260101_000005: still no run\.json after (\d+) s: the capi-launch of \S+ is still making it \(splitting its suite\); waiting as long as it does/.exec(
      notes[1] ?? '',
    );
  assert.ok(second, notes[1]);
  // noteMs after the first; later on a loaded machine, whose polls (by the fast clock) come late
  assert.ok(Number(second[1]) >= 30, `the second note after ${second[1]} s`);
  await rm(lock);
});

test('a lock whose holder died (kill -9) or whose pid was reused is no wait: not, at once', async () => {
  const runs = join(root, 'killed');
  const dir = join(runs, 'capi_test_20260101_000006');
  await mkdir(dir, { recursive: true });
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(join(runs, '.launch.lock'), `${gone.stdout}\ntoken\n`);
  const at = performance.now();
  assert.equal(await runBeingMade(dir, hasManifest, () => {}), 'not');
  // this process's pid, in a lock written before it started: a reused pid
  await holdLock(runs);
  const old = new Date(Date.now() - 3600_000 * 24 * 365);
  await utimes(join(runs, '.launch.lock'), old, old);
  assert.equal(await runBeingMade(dir, hasManifest, () => {}), 'not');
  assert.ok(performance.now() - at < 1_000);
});

test('the lock taken by another launch (the one waited for died, its lock broken) is no longer a wait for this folder: not', async () => {
  const runs = join(root, 'taken-over');
  const dir = join(runs, 'capi_test_20260101_000007');
  await mkdir(dir, { recursive: true });
  await holdLock(runs);
  const waiting = runBeingMade(dir, hasManifest, () => {});
  await new Promise((r) => setTimeout(r, 150));
  // a next launch's lock: this live process's pid again, another token
  await writeFile(join(runs, '.launch.lock'), `${process.pid}\nanother\n`);
  assert.equal(await waiting, 'not');
  await rm(join(runs, '.launch.lock'));
});

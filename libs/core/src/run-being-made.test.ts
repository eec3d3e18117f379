import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

test('the lock let go with the folder still unmade: not; the wait run out with the lock held: held', async () => {
  const runs = join(root, 'ended');
  const dir = join(runs, 'capi_test_20260101_000004');
  await mkdir(dir, { recursive: true });
  await holdLock(runs);
  const ending = runBeingMade(dir, hasManifest, () => {});
  await new Promise((r) => setTimeout(r, 150));
  await rm(join(runs, '.launch.lock'));
  assert.equal(await ending, 'not');
  await holdLock(runs);
  assert.equal(await runBeingMade(dir, hasManifest, () => {}, 200), 'held');
});

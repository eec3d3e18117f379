import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdingRunManifest, type TestRecord } from '@capi/core';
import { type StandInSupervisor, standInSupervisor } from '@capi/testkit';
import { splitSuite } from './split-suite.js';
import { writeBatches } from './write-batches.js';

const root = await mkdtemp(join(tmpdir(), 'capi-split-replace-'));
after(() => rm(root, { recursive: true, force: true }));

function records(prefix: string, n: number): AsyncIterable<TestRecord> {
  let text = 'id,url\n';
  for (let i = 1; i <= n; i++) text += `${prefix}${i},/items/${i}\n`;
  return splitSuite([Buffer.from(text)], { source: 's.csv' });
}

const idsIn = async (dir: string) =>
  (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { batches: { firstId: string }[] }).batches.map(
    (b) => b.firstId,
  );

test('DIR missing while an earlier folder of it that cannot be judged is beside it: refused, naming it, nothing touched', async () => {
  const parent = join(root, 'unjudged');
  const aside = join(parent, '.out.old-1-1-00000000-aaaaaa');
  await writeBatches(records('A', 2), aside, 1);
  const notes: string[] = [];
  await assert.rejects(writeBatches(records('B', 1), join(parent, 'out'), 1, { onLeftover: (t) => notes.push(t) }), {
    message: `${join(parent, 'out')}: missing, while ${aside} beside it holds its earlier batches (a capi-split --force replacing them, not judged here): rename it to ${join(parent, 'out')} if no capi-split is using it`,
  });
  assert.deepEqual(await readdir(parent), ['.out.old-1-1-00000000-aaaaaa']);
  assert.deepEqual(await idsIn(aside), ['A1', 'A2']);
  assert.match(notes.join('\n'), /\(made on another machine\): not removed; it holds earlier batches of \S+out/);
});

test('--force refuses the batches of a run whose supervisor is running; they stay as they were', async () => {
  const run = join(root, 'runs', 'r1');
  const batches = join(run, 'batches');
  await writeBatches(records('A', 2), batches, 1);
  await writeFile(join(run, 'run.json'), '{}');
  const supervisor = await standInSupervisor(run);
  try {
    await writeFile(join(run, 'supervisor.pid'), `${supervisor.pid}\n`);
    await assert.rejects(writeBatches(records('B', 1), batches, 1, { force: true }), {
      message: `${batches}: the batches of run r1, whose supervisor (pid ${supervisor.pid}) is running: stop it first (capi-launch --stop ${run})`,
    });
    assert.deepEqual(await idsIn(batches), ['A1', 'A2']);
  } finally {
    await supervisor.stop();
  }
  await writeBatches(records('B', 1), batches, 1, { force: true });
  assert.deepEqual(await idsIn(batches), ['B1'], 'once the supervisor is gone, --force replaces them');
});

test("--force does not replace the batches of a run a resume's supervisor takes after the split's first look", async () => {
  const run = join(root, 'runs', 'r2');
  const batches = join(run, 'batches');
  await writeBatches(records('A', 2), batches, 1);
  await writeFile(join(run, 'run.json'), '{}');
  let split: Promise<unknown> | undefined;
  let supervisor: StandInSupervisor | undefined;
  // a supervisor takes a run holding run.json.lock (capi-launch's supervise.ts takeRun): as
  // one does here, the split has found no live supervisor and written its new batches
  const notes: string[] = [];
  const waiting = () => notes.some((t) => t.startsWith(`waiting for ${join(run, 'run.json.lock')}`));
  await holdingRunManifest(run, async () => {
    split = writeBatches(records('B', 1), batches, 1, { force: true, onLeftover: (t) => notes.push(t) });
    split.catch(() => {});
    // the split's first look (no live supervisor) is behind it: it waits for the lock
    for (let i = 0; i < 250 && !waiting(); i++) await sleep(20);
    assert.ok(waiting(), notes.join('\n'));
    supervisor = await standInSupervisor(run);
    await writeFile(join(run, 'supervisor.pid'), `${supervisor.pid}\n`);
  });
  try {
    await assert.rejects(split as Promise<unknown>, {
      message: `${batches}: the batches of run r2, whose supervisor (pid ${supervisor?.pid}) is running: stop it first (capi-launch --stop ${run})`,
    });
    assert.deepEqual(await idsIn(batches), ['A1', 'A2']);
  } finally {
    await supervisor?.stop();
  }
});

test("a stop while --force waits for a run's run.json.lock ends the wait: the batches stay, the wait is named", async () => {
  const run = join(root, 'runs', 'r3');
  const batches = join(run, 'batches');
  await writeBatches(records('A', 2), batches, 1);
  await writeFile(join(run, 'run.json'), '{}');
  const stop = new AbortController();
  const notes: string[] = [];
  let outcome: unknown = 'still waiting';
  // run.json.lock held by a live holder (this process, as a supervisor taking the run holds it)
  await holdingRunManifest(run, async () => {
    const split = writeBatches(records('B', 1), batches, 1, {
      force: true,
      signal: stop.signal,
      onLeftover: (t) => notes.push(t),
    });
    split.then(
      () => {
        outcome = 'replaced';
      },
      (err: unknown) => {
        outcome = err;
      },
    );
    await sleep(1500);
    stop.abort(new Error('stopped by SIGINT'));
    for (let i = 0; i < 50 && outcome === 'still waiting'; i++) await sleep(20);
    // looked at while the lock is still held: the split must not wait for it after the stop
    assert.equal((outcome as Error).message, 'stopped by SIGINT');
  });
  assert.deepEqual(await idsIn(batches), ['A1', 'A2']);
  assert.match(notes.join('\n'), new RegExp(`waiting for ${join(run, 'run.json.lock')}`));
});

test('--force into a symbolic link replaces the folder it points to and keeps the link; a link to nothing is refused', async () => {
  const parent = join(root, 'linked');
  const real = join(root, 'linked-real', 'batches');
  await writeBatches(records('A', 3), real, 1);
  await mkdir(parent);
  await symlink(real, join(parent, 'out'));
  await writeBatches(records('B', 1), join(parent, 'out'), 1, { force: true });
  assert.ok((await lstat(join(parent, 'out'))).isSymbolicLink());
  assert.deepEqual(await idsIn(real), ['B1']);
  assert.deepEqual(await readdir(parent), ['out']);
  assert.deepEqual(await readdir(join(root, 'linked-real')), ['batches']);
  await symlink(join(root, 'nowhere'), join(parent, 'dangling'));
  await assert.rejects(writeBatches(records('B', 1), join(parent, 'dangling'), 1, { force: true }), (e: Error) =>
    e.message.startsWith(`${join(parent, 'dangling')}: a symbolic link to nothing`),
  );
  assert.ok((await lstat(join(parent, 'dangling'))).isSymbolicLink());
});

test("a split waits for another that holds DIR's lock, and moves nothing into DIR meanwhile", async () => {
  const parent = join(root, 'locked');
  const out = join(parent, 'out');
  await writeBatches(records('A', 2), out, 1);
  const lock = join(parent, '.out.lock');
  await writeFile(lock, `${process.pid}\ntoken\n${hostname()}\n`);
  const notes: string[] = [];
  let done = false;
  const second = writeBatches(records('B', 1), out, 1, { force: true, onLeftover: (t) => notes.push(t) }).then(() => {
    done = true;
  });
  for (let i = 0; i < 200 && notes.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(notes, [`waiting for ${lock}: another capi-split is at work on ${out}`]);
  assert.equal(done, false);
  assert.deepEqual(await idsIn(out), ['A1', 'A2']);
  await rm(lock);
  await second;
  assert.deepEqual(await idsIn(out), ['B1']);
  assert.deepEqual(await readdir(parent), ['out']);
});

test('two forced splits into one DIR at once: each replaces it whole, one after the other', async () => {
  const parent = join(root, 'twice');
  const out = join(parent, 'out');
  await writeBatches(records('A', 5), out, 1);
  await Promise.all([
    writeBatches(records('B', 3), out, 1, { force: true }),
    writeBatches(records('C', 2), out, 1, { force: true }),
  ]);
  const ids = await idsIn(out);
  assert.ok(JSON.stringify(ids) === '["B1","B2","B3"]' || JSON.stringify(ids) === '["C1","C2"]', String(ids));
  const files = (await readdir(out)).filter((n) => n !== 'index.json');
  assert.equal(files.length, ids.length);
  assert.deepEqual(await readdir(parent), ['out']);
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { batchFiles, THREAD_FROM_BYTES } from './batch-files.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'capi-split-files-'));
});
after(() => rm(root, { recursive: true, force: true }));

// Past the first 16 files, files go to the file thread: 40 files cover both sides.
const FILES = 40;

/** File i's pieces: characters of one to four bytes, and some pieces larger than a 128 KiB slot. */
function pieces(i: number): string[] {
  const out = [`${i}:a\n`, 'é€😀\n'.repeat(i * 50)];
  if (i % 7 === 3) out.push(`${'x'.repeat(200 * 1024 + i)}\n`, `${'€'.repeat(50 * 1024)}\n`);
  out.push(`${i}:end\n`);
  return out;
}

test('files written here and on the thread hold their pieces in order, 0600', async () => {
  const dir = await mkdtemp(join(root, 'ok-'));
  const files = batchFiles(0o600);
  for (let i = 0; i < FILES; i++) {
    files.open(join(dir, `f${i}`));
    for (const piece of pieces(i)) await files.write(piece);
    await files.close();
  }
  await files.done();
  assert.equal((await readdir(dir)).length, FILES);
  for (let i = 0; i < FILES; i++) {
    assert.equal(await readFile(join(dir, `f${i}`), 'utf8'), pieces(i).join(''), `f${i}`);
    assert.equal((await stat(join(dir, `f${i}`))).mode & 0o777, 0o600);
  }
});

test("a failure on the thread is thrown as the file system's error, with its code and path", async () => {
  const dir = await mkdtemp(join(root, 'fail-'));
  await writeFile(join(dir, 'f30'), 'already here');
  const files = batchFiles(0o600);
  let thrown: unknown = null;
  try {
    for (let i = 0; i < FILES; i++) {
      files.open(join(dir, `f${i}`));
      await files.write(`${i}\n`);
      await files.close();
    }
    await files.done();
  } catch (err) {
    thrown = err;
    await files.abort();
  }
  const err = thrown as NodeJS.ErrnoException;
  assert.ok(err instanceof Error, 'an error was thrown');
  assert.equal(err.code, 'EEXIST');
  assert.equal(err.syscall, 'open');
  assert.equal(err.path, join(dir, 'f30'));
  // the file that was there is left as it was; nothing after the failure was written
  assert.equal(await readFile(join(dir, 'f30'), 'utf8'), 'already here');
  const names = await readdir(dir);
  assert.ok(!names.includes(`f${FILES - 1}`), names.join(' '));
});

test('abort stops the thread: nothing is written once it settles', async () => {
  const dir = await mkdtemp(join(root, 'abort-'));
  const files = batchFiles(0o600);
  for (let i = 0; i < FILES; i++) {
    files.open(join(dir, `f${i}`));
    await files.write('x\n'.repeat(20_000));
    await files.close();
  }
  await files.abort();
  const names = new Set(await readdir(dir));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(new Set(await readdir(dir)), names);
});

test('a suite under THREAD_FROM_BYTES has every file written here: no thread is started', async () => {
  const dir = await mkdtemp(join(root, 'small-'));
  const threadsBefore = process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
  let online = 0;
  const files = batchFiles(0o600, THREAD_FROM_BYTES - 1, () => online++);
  try {
    for (let i = 0; i < FILES; i++) {
      files.open(join(dir, `f${i}`));
      for (const piece of pieces(i)) await files.write(piece);
      await files.close();
      // a started file thread holds a MessagePort open
      assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length, threadsBefore, `f${i}`);
    }
    await files.done();
  } catch (err) {
    await files.abort();
    throw err;
  }
  assert.equal((await readdir(dir)).length, FILES);
  assert.equal(online, 0, 'no thread, so no onThreadOnline');
  for (let i = 0; i < FILES; i++) {
    assert.equal(await readFile(join(dir, `f${i}`), 'utf8'), pieces(i).join(''), `f${i}`);
    assert.equal((await stat(join(dir, `f${i}`))).mode & 0o777, 0o600);
  }
});

test('a suite of THREAD_FROM_BYTES or more (or of unknown size) starts the thread past the first files', async () => {
  for (const bytes of [THREAD_FROM_BYTES, undefined]) {
    const dir = await mkdtemp(join(root, 'large-'));
    const threadsBefore = process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    let online = 0;
    const files = batchFiles(0o600, bytes, () => online++);
    for (let i = 0; i < FILES; i++) {
      files.open(join(dir, `f${i}`));
      await files.write(`${i}\n`);
      await files.close();
    }
    assert.ok(
      process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length > threadsBefore,
      String(bytes),
    );
    await files.done();
    assert.equal((await readdir(dir)).length, FILES);
    // heard once, once the thread ran (capi-split sets its V8 flag again there)
    assert.equal(online, 1, String(bytes));
  }
});

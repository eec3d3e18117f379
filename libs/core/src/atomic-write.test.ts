import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAtomicStream, writeFileAtomic } from './atomic-write.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capi-atomic-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('writeFileAtomic creates folders, writes owner-only, leaves no temp file', async () => {
  const path = join(dir, 'a', 'b', 'file.json');
  await writeFileAtomic(path, '{"v":1}');
  assert.equal(await readFile(path, 'utf8'), '{"v":1}');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
  assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['file.json']);
});

test('writeFileAtomic replaces the content whole', async () => {
  const path = join(dir, 'replace.txt');
  await writeFile(path, 'old content that is longer');
  await writeFileAtomic(path, Buffer.from('new'));
  assert.equal(await readFile(path, 'utf8'), 'new');
  assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n.startsWith('replace'))), ['replace.txt']);
});

test('writeFileAtomic onto a folder fails and leaves no temp file', async () => {
  const target = join(dir, 'is-a-dir');
  await writeFileAtomic(join(target, 'inner'), 'x');
  await assert.rejects(writeFileAtomic(target, 'y'));
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('is-a-dir.tmp')),
    [],
  );
});

test('createAtomicStream: nothing at the path until commit, then the whole content', async () => {
  const path = join(dir, 'stream', 'out.ndjson');
  const out = await createAtomicStream(path);
  for (let i = 0; i < 1000; i++) out.stream.write(`{"i":${i}}\n`);
  await assert.rejects(stat(path), /ENOENT/);
  await out.commit();
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.deepEqual(await readdir(join(dir, 'stream')), ['out.ndjson']);
});

test('createAtomicStream: abort leaves nothing, and an old file untouched', async () => {
  const path = join(dir, 'abort', 'out.csv');
  await writeFileAtomic(path, 'old');
  const out = await createAtomicStream(path);
  out.stream.write('half of something');
  await out.abort();
  assert.equal(await readFile(path, 'utf8'), 'old');
  assert.deepEqual(await readdir(join(dir, 'abort')), ['out.csv']);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAtomicStream, writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';

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

test('writeFileAtomic and createAtomicStream follow a symlink instead of replacing it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-atomic-link-'));
  try {
    const real = join(dir, 'real.txt');
    const link = join(dir, 'link.txt');
    await symlink('real.txt', link);
    await writeFileAtomic(link, 'one\n');
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.equal(await readFile(real, 'utf8'), 'one\n');
    const out = await createAtomicStream(link);
    out.stream.write('two\n');
    await out.commit();
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(real, 'utf8'), 'two\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a FIFO is written in place: its reader gets the bytes and it stays a FIFO', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-atomic-fifo-'));
  try {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<string>((done, fail) => {
      const chunks: Buffer[] = [];
      createReadStream(fifo)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => done(Buffer.concat(chunks).toString('utf8')))
        .on('error', fail);
    });
    await writeFileAtomic(fifo, 'through the pipe\n');
    assert.equal(await reader, 'through the pipe\n');
    assert.ok((await lstat(fifo)).isFIFO(), 'still a FIFO');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f !== 'pipe'),
      [],
      'no temp file left',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a folder as the target is refused with a clear message', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-atomic-dir-'));
  try {
    await assert.rejects(writeFileAtomic(dir, 'x'), /cannot write .*: it is a folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a write that fails rejects in finish() as one "cannot write" error, not an uncaught event', {
  skip: existsSync('/dev/full') ? false : 'no /dev/full',
}, async () => {
  const out = await createAtomicStream('/dev/full');
  out.stream.write('x'.repeat(256 * 1024));
  await assert.rejects(out.finish(), /^CapiError: cannot write \/dev\/full: no space left on the device$/);
  await assert.rejects(writeFileAtomic('/dev/full', 'x'), /cannot write \/dev\/full: no space left on the device/);
});

test('writeFileAtomicSync: folders made, owner-only, replaced whole, no temp file left', async () => {
  const path = join(dir, 'sync', 'deep', 'status.json');
  writeFileAtomicSync(path, 'a long first content', undefined, { sync: false });
  writeFileAtomicSync(path, '{"v":2}');
  assert.equal(await readFile(path, 'utf8'), '{"v":2}');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'sync'))).mode & 0o777, 0o700);
  assert.deepEqual(await readdir(join(dir, 'sync', 'deep')), ['status.json']);
});

test('writeFileAtomicSync follows a symlink, and refuses a folder leaving no temp file', async () => {
  const real = join(dir, 'sync-real.json');
  const link = join(dir, 'sync-link.json');
  await writeFile(real, 'old');
  await symlink(real, link);
  writeFileAtomicSync(link, 'new');
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.equal(await readFile(real, 'utf8'), 'new');
  const folder = join(dir, 'sync-folder');
  await mkdir(folder);
  assert.throws(() => writeFileAtomicSync(folder, 'x'), /cannot write .*: it is a folder/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.startsWith('sync-folder')),
    ['sync-folder'],
  );
});

test('a symlink loop is refused, not followed forever, by the async and the sync write alike', async () => {
  const a = join(dir, 'loop-a');
  const b = join(dir, 'loop-b');
  await symlink(b, a);
  await symlink(a, b);
  await assert.rejects(writeFileAtomic(a, 'x'), /cannot write .*: too many symbolic links/);
  assert.throws(() => writeFileAtomicSync(b, 'x'), /cannot write .*: too many symbolic links/);
  // a folder reached through a symlink is refused by both as well
  const folder = join(dir, 'linked-folder');
  const toFolder = join(dir, 'to-folder');
  await mkdir(folder);
  await symlink(folder, toFolder);
  await assert.rejects(writeFileAtomic(toFolder, 'x'), /cannot write .*: it is a folder/);
  assert.throws(() => writeFileAtomicSync(toFolder, 'x'), /cannot write .*: it is a folder/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => /^(loop-|linked-folder|to-folder)/.test(f) && f.includes('.tmp-')),
    [],
  );
});

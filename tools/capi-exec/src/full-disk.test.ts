import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileScope, get, ndjson, spawnExec } from './test-support/fixtures.js';

/**
 * A disk that fills while the journal grows: one line, `cannot write PATH: no space left
 * on the device`, exit 3, never a stack; the journal keeps whole lines (docs/formats.md).
 * A real small tmpfs where the test may mount one (root); skipped with the reason elsewhere.
 */

const scope = fileScope();

/** Mounts a tmpfs of `size` on `dir`, unmounted when the test ends (before its folder is removed). */
function smallDisk(t: TestContext, dir: string, size: string): string | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}`;
  t.after(() => {
    spawnSync('umount', [dir]);
  });
  return null;
}

test('the journal on a disk that fills up: exit 3 with one line naming it, whole lines kept', async (t) => {
  const scratch = await scope.scratch();
  const disk = join(scratch, 'disk');
  const why = smallDisk(t, disk, '64k');
  if (why) return t.skip(why);
  const server = await scope.server((_req, res) => res.end('x'.repeat(10)));
  // long names make long result lines: 64 KiB holds fewer than 400 of them
  const tests = Array.from({ length: 2000 }, (_, i) => get(`F${i}`, `/f/${i}`, { name: 'n'.repeat(200) }));
  const journal = join(disk, 'results.ndjson');
  const r = await spawnExec(['--base-url', server.url, '--journal', journal], { input: ndjson(tests) }).done;
  assert.equal(r.code, 3, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stderr, new RegExp(`capi-exec: cannot write ${journal}: no space left on the device\\n`));
  const lines = readFileSync(journal, 'utf8').split('\n');
  // every line but a torn last one is a whole record (the next open cuts the torn one)
  for (const line of lines.slice(0, -2)) JSON.parse(line);
});

/** Fills the disk at `dir` but `leave` bytes (whole pages): a filler file written until the disk is full, then cut. */
function fillDisk(dir: string, leave: number): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const page = Buffer.alloc(4096);
  let size = 0;
  try {
    for (let i = 0; i < 1_000_000; i++) size += writeSync(fd, page);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  ftruncateSync(fd, Math.max(0, size - leave));
  closeSync(fd);
}

test('--serve: a batch whose last journal line cannot be written is answered 3, not 0', async (t) => {
  const scratch = await scope.scratch();
  const run = join(scratch, 'run');
  for (const sub of ['batches', 'results', 'status', 'logs']) mkdirSync(join(run, sub), { recursive: true });
  const why = smallDisk(t, join(run, 'results'), '64k');
  if (why) return t.skip(why);
  const server = await scope.server((_req, res) => res.end('ok'));
  // one test whose line (over 8 KiB) cannot fit in the two pages left for the lock and the meta
  writeFileSync(join(run, 'batches', 'batch_0001.ndjson'), ndjson([get('L1', '/x', { name: 'n'.repeat(10_000) })]));
  fillDisk(join(run, 'results'), 8192);
  const input = `${JSON.stringify({ batch: 'batch_0001', total: 1 })}\n`;
  const r = await spawnExec(['--serve', run, '--base-url', server.url], { input }).done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { batch: 'batch_0001', code: 3 }, 'the line was not written: exit 3');
  assert.equal(readFileSync(join(run, 'results', 'batch_0001.ndjson'), 'utf8').includes('"L1"'), false);
  assert.match(
    readFileSync(join(run, 'logs', 'batch_0001.log'), 'utf8'),
    /cannot write .*batch_0001\.ndjson: no space left on the device/,
  );
  const beat = JSON.parse(readFileSync(join(run, 'status', 'batch_0001.json'), 'utf8'));
  assert.equal(beat.state, 'failed');
});

test('a failed journal write at --concurrency 1: no test starts after it (each request sent has its line, but the one that failed)', async (t) => {
  const scratch = await scope.scratch();
  const disk = join(scratch, 'disk');
  const why = smallDisk(t, disk, '64k');
  if (why) return t.skip(why);
  const server = await scope.server((_req, res) => res.end('ok'));
  // lines over 8 KiB: a 64 KiB disk holds a handful, the run has 40
  const tests = Array.from({ length: 40 }, (_, i) => get(`W${i}`, `/w/${i}`, { name: 'n'.repeat(10_000) }));
  const journal = join(disk, 'results.ndjson');
  const r = await spawnExec(['--base-url', server.url, '--journal', journal, '--concurrency', '1'], {
    input: ndjson(tests),
  }).done;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /no space left on the device/);
  const whole = readFileSync(journal, 'utf8')
    .split('\n')
    .filter((line) => line.endsWith('}')).length;
  assert.ok(whole > 0 && whole < 40, `${whole} lines`);
  // the test whose line could not be written was sent; none after it (a resume sends it again, and only it)
  assert.deepEqual(
    server.hits.map((h) => h.path),
    tests.slice(0, whole + 1).map((x) => (x.request as { url: string }).url),
  );
});

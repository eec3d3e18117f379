import assert from 'node:assert/strict';
import fs, { readdirSync, write } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { mock, test } from 'node:test';
import { Spool } from './spool.js';

const spoolFiles = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`capi-merge-spool.tmp-${process.pid}-`));

test('the spool gives back every entry, in memory and past it in its temp file, in order and out of order', () => {
  const spool = new Spool(4096);
  const texts: string[] = [];
  const refs: number[] = [];
  for (let i = 0; i < 5000; i++) {
    // Short and long entries, multi-byte characters, one longer than a read window.
    const text =
      i === 2500 ? `long ${'é✓'.repeat(400_000)}` : `{"id":"T${i}","name":"tëst ${'x'.repeat(i % 300)} ✓"}\u0001,${i}`;
    texts.push(text);
    refs.push(spool.append(text));
  }
  assert.equal(spool.onDisk, true);
  // The temp file was unlinked when opened: nothing in TMPDIR carries this process's spool name.
  assert.deepEqual(spoolFiles(), []);
  for (let i = 0; i < texts.length; i++) assert.equal(spool.read(refs[i] as number), texts[i]);
  for (let i = texts.length - 1; i >= 0; i -= 7) assert.equal(spool.read(refs[i] as number), texts[i]);
  // Appending after reads, then reading the newest (still in the write buffer) and the oldest.
  const late = spool.append('late ✓');
  assert.equal(spool.read(late), 'late ✓');
  assert.equal(spool.read(refs[0] as number), texts[0]);
  spool.close();
});

test('a small spool never touches the disk', () => {
  const spool = new Spool();
  const ref = spool.append('only ✓');
  assert.equal(spool.onDisk, false);
  assert.equal(spool.read(ref), 'only ✓');
  spool.close();
});

/** fs.write held back: the writes run when `release` is called (all, or the last `n` asked for first). */
function heldWrites() {
  const held: Array<() => void> = [];
  const fake = ((...args: unknown[]) => {
    held.push(() => (write as (...a: unknown[]) => void)(...args));
  }) as unknown as typeof write;
  return {
    fake,
    get count() {
      return held.length;
    },
    release(n = held.length) {
      // the newest first: the order positional writes finish in must not matter
      for (const run of held.splice(held.length - n, n).reverse()) run();
    },
  };
}

test('entries read back the same while their writes are held back, as they finish in any order, and after', async () => {
  const io = heldWrites();
  const spool = new Spool(4096, io.fake);
  const texts: string[] = [];
  const refs: number[] = [];
  const check = () => {
    for (let i = 0; i < texts.length; i += 3) assert.equal(spool.read(refs[i] as number), texts[i]);
    for (let i = texts.length - 1; i >= 0; i -= 5) assert.equal(spool.read(refs[i] as number), texts[i]);
  };
  // Rounds of some 2.5 MB each; each round's reads run while some buffers are not written yet.
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 10_000; i++) {
      const text = `{"id":"R${round}-${i}","name":"${'n'.repeat(i % 400)} ✓"}\u0001,${i}`;
      texts.push(text);
      refs.push(spool.append(text));
    }
    if (round === 0) assert.ok(io.count > 0, 'a write is held back');
    check();
    io.release(1);
    await new Promise((r) => setTimeout(r, 20));
    check();
  }
  io.release();
  await spool.settled();
  check();
  // closed with writes pending: the descriptor is closed after them, and nothing throws
  for (let i = 0; i < 5000; i++) spool.append(`late ${i} ${'z'.repeat(300)}`);
  spool.close();
  io.release();
  await spool.settled();
});

test('entries next to a write still held back read right, before and after it is written', async () => {
  const held: Array<() => void> = [];
  const fake = ((...args: unknown[]) => {
    held.push(() => (write as (...a: unknown[]) => void)(...args));
  }) as unknown as typeof write;
  const spool = new Spool(4096, fake);
  const texts: string[] = [];
  const refs: number[] = [];
  // the 4 KB in memory goes to the (held) background write; the next buffers, with that
  // one still out, are written on the spot
  while (spool.size < 3 * (1 << 20)) {
    const text = `entry ${texts.length} ${'w'.repeat(200)}`;
    texts.push(text);
    refs.push(spool.append(text));
  }
  assert.equal(held.length, 1);
  // in order across the end of the held part: its entries from its buffer, the next from the file
  const next = refs.findIndex((r) => (r - 1) * 8 >= 4096);
  assert.ok(next > 3);
  for (let i = 0; i < next + 2000; i++) assert.equal(spool.read(refs[i] as number), texts[i], `entry ${i}`);
  (held[0] as () => void)();
  await spool.settled();
  for (let i = texts.length - 1; i >= 0; i -= 7) assert.equal(spool.read(refs[i] as number), texts[i]);
  spool.close();
});

test('a failed background write fails the next append or read from the file, naming the spool', async () => {
  const failing = ((
    _fd: number,
    _b: Buffer,
    _o: number,
    _l: number,
    _p: number,
    cb: (e: Error | null, n: number) => void,
  ) => setImmediate(() => cb(Object.assign(new Error('no space'), { code: 'ENOSPC' }), 0))) as unknown as typeof write;
  const spool = new Spool(4096, failing);
  const first = spool.append('x'.repeat(100));
  // past the 4 KB in memory: that part and then a full 1 MB buffer are handed to the (failing) writes
  for (let i = 0; i < 4000; i++) spool.append(`entry ${i} ${'y'.repeat(300)}`);
  // every write handed out has failed by now (not a fixed wait: a loaded machine may run a timer first)
  await assert.rejects(spool.settled(), /spool file/);
  assert.throws(() => spool.read(first), /spool file/);
  assert.throws(() => {
    for (let i = 0; i < 5000; i++) spool.append(`more ${i} ${'y'.repeat(300)}`);
  }, /spool file/);
  spool.close();
});

test('sparse reads (one entry in 50) read a small window each, not the whole file; dense reads a big one', async () => {
  const spool = new Spool(4096);
  const refs: number[] = [];
  for (let i = 0; i < 4000; i++) refs.push(spool.append(`{"id":"T${i}","name":"${'n'.repeat(400)}"}\u0001,${i}`));
  await spool.settled();
  // readSync counted (the spool imports it by name: the builtin's named exports follow the object)
  let bytes = 0;
  let reads = 0;
  const real = fs.readSync;
  const spy = mock.method(fs, 'readSync', (...args: Parameters<typeof fs.readSync>) => {
    const n = real(...args);
    bytes += n;
    reads++;
    return n;
  });
  syncBuiltinESMExports();
  try {
    for (let i = 0; i < refs.length; i += 50) assert.match(spool.read(refs[i] as number), new RegExp(`^{"id":"T${i}"`));
    // entries some 21 KB apart: one 4 KB read each for those in the file, not yet in the write buffer (a 256 KB
    // window per skip read the whole file)
    assert.ok(reads >= 20 && reads <= 80, `${reads} reads`);
    assert.ok(bytes <= reads * 4096, `${bytes} bytes read`);
    bytes = 0;
    reads = 0;
    for (let i = 0; i < 1000; i++) assert.match(spool.read(refs[i] as number), new RegExp(`^{"id":"T${i}"`));
    // in order: 256 KB windows (1000 entries of ~430 bytes)
    assert.ok(reads <= 3, `${reads} reads`);
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
    spool.close();
  }
});

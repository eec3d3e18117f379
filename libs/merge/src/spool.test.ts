import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8Chunks } from './utf8-chunks.js';

async function collect(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of utf8Chunks(chunks, 's.csv')) out.push(chunk);
  return Buffer.concat(out).toString('utf8');
}

test('keeps a character cut by a chunk boundary whole, and drops a BOM split over chunks', async () => {
  const bytes = Buffer.from('\ufeffid,name\nT1,café 😀\n');
  const oneByOne = [...bytes].map((b) => Buffer.from([b]));
  assert.equal(await collect(oneByOne), 'id,name\nT1,café 😀\n');
  assert.equal(await collect([bytes]), 'id,name\nT1,café 😀\n');
});

test('a byte that is not UTF-8 is an error on its own line', async () => {
  const chunks = [Buffer.from('id,url\nT1,/a\n'), Buffer.from('T2,/b\nT3,caf'), Buffer.from([0xe9, 0x0a])];
  await assert.rejects(collect(chunks), { message: 's.csv:4: not UTF-8: invalid byte 0xe9 (save the file as UTF-8)' });
  await assert.rejects(collect([Buffer.from([0x61, 0xc3])]), /s\.csv:1: not UTF-8: invalid byte 0xc3/);
});

test('a large chunk goes on in pieces of at most 16 KiB, each cut between characters', async () => {
  // 3- and 4-byte characters so that a cut at a fixed offset would fall inside one
  const text = `id,name\n${'T1,€😀é\n'.repeat(20_000)}`;
  const out: Buffer[] = [];
  for await (const chunk of utf8Chunks([Buffer.from(text)], 's.csv')) out.push(chunk);
  assert.ok(out.length > 10, `${out.length} pieces`);
  for (const piece of out) {
    assert.ok(piece.length <= 16 * 1024, `a piece of ${piece.length} bytes`);
    assert.equal(piece.toString('utf8').includes('\ufffd'), false, 'a character cut in two');
  }
  assert.equal(Buffer.concat(out).toString('utf8'), text);
});

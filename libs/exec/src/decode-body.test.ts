import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { codings, createBodyDecoder, unknownCoding } from './decode-body.js';

async function decode(list: string[], body: Buffer, keep: number, chunk = 7) {
  const d = createBodyDecoder(list, keep);
  for (let i = 0; i < body.length; i += chunk) {
    if (!d.write(body.subarray(i, i + chunk))) await new Promise<void>((r) => d.onDrain(r));
  }
  return d.finish();
}

const text = Buffer.from(`{"a":1,"pad":"${'x'.repeat(5000)}"}`);

test('codings: order kept, identity dropped, any case; unknown ones named', () => {
  assert.deepEqual(codings('gzip, BR'), ['gzip', 'br']);
  assert.deepEqual(codings(['identity', 'gzip']), ['gzip']);
  assert.deepEqual(codings(undefined), []);
  assert.equal(unknownCoding(['gzip', 'zstd']), 'zstd');
  assert.equal(unknownCoding(['x-gzip', 'deflate', 'br']), null);
});

test('gzip, deflate, br and stacked encodings decode in small chunks', async () => {
  for (const [list, body] of [
    [['gzip'], gzipSync(text)],
    [['deflate'], deflateSync(text)],
    [['br'], brotliCompressSync(text)],
    [['gzip', 'br'], brotliCompressSync(gzipSync(text))],
    [['deflate', 'gzip'], gzipSync(deflateSync(text))],
  ] as Array<[string[], Buffer]>) {
    const d = await decode(list, body, 1 << 20);
    assert.equal(d.error, null, list.join());
    assert.equal(d.cut, false);
    assert.equal(d.decoded, text.length);
    assert.equal(Buffer.concat(d.chunks).toString(), text.toString());
  }
});

test('a bomb stops soon after the cap; corrupt input says why', async () => {
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
  const d = await decode(['gzip'], bomb, 1000, 4096);
  assert.equal(d.cut, true);
  assert.equal(d.kept, 1000);
  assert.ok(d.decoded > 1000 && d.decoded < 2 * 1024 * 1024, String(d.decoded));
  const bad = await decode(['gzip'], Buffer.from('definitely not gzip'), 100);
  assert.match(bad.error ?? '', /incorrect header check/);
  const short = await decode(['br'], brotliCompressSync(text).subarray(0, 10), 1 << 20);
  assert.ok(short.error !== null, 'a truncated stream is an error');
});

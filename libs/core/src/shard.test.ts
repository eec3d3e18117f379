import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.js';
import { fnv1a, formatShard, inShard, parseShard } from './shard.js';

test('fnv1a is the standard 32-bit FNV-1a', () => {
  // Reference values of the FNV-1a test suite.
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('parseShard reads K/N and refuses anything else, naming the flag', () => {
  assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
  assert.deepEqual(parseShard(' 1/1 '), { index: 1, count: 1 });
  for (const bad of ['0/3', '4/3', '1/0', '3', 'a/b', '-1/3', '1/3/4', '']) {
    assert.throws(
      () => parseShard(bad, '--shard'),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, bad);
        assert.match(err.message, /--shard takes K\/N/);
        return true;
      },
    );
  }
  assert.equal(formatShard({ index: 3, count: 8 }), '3/8');
});

test('shards partition ids: each id in exactly one shard, deterministically', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `T${String(i).padStart(5, '0')}`);
  for (const count of [1, 2, 3, 7]) {
    const sizes = Array.from({ length: count }, () => 0);
    for (const id of ids) {
      const homes = [];
      for (let k = 1; k <= count; k++) if (inShard(id, { index: k, count })) homes.push(k);
      assert.equal(homes.length, 1, `${id} in ${homes.length} shards of ${count}`);
      sizes[homes[0]! - 1]!++;
      assert.equal(inShard(id, { index: homes[0]!, count }), true, 'same answer twice');
    }
    // A fair hash: no shard is far from its share.
    for (const size of sizes) assert.ok(Math.abs(size - ids.length / count) < (ids.length / count) * 0.15, `${sizes}`);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdIndex } from './id-index.js';

test('the id index finds every id it was given across growth, and nothing else', () => {
  const ids: string[] = [];
  const index = new IdIndex(ids);
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const id = i % 7 === 0 ? `tëst-${i}-✓` : `T${i}`;
    assert.equal(index.find(id), -1);
    ids.push(id);
    index.insert(id, i);
  }
  for (let i = 0; i < n; i += 1) assert.equal(index.find(ids[i] as string), i);
  assert.equal(index.find('T-1'), -1);
  assert.equal(index.find(''), -1);
  // An insert without a preceding find still lands in a free slot.
  ids.push('late');
  index.insert('late', n);
  assert.equal(index.find('late'), n);
  assert.equal(index.find('T1'), 1);
});

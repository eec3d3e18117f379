import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdIndex } from './id-index.js';

test('the id index finds every id it was given across growth, and nothing else', () => {
  const ids: string[] = [];
  const index = new IdIndex();
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const id = i % 7 === 0 ? `tëst-${i}-✓` : `T${i}`;
    assert.equal(index.find(id), -1);
    ids.push(id);
    assert.equal(index.insert(id), i);
  }
  for (let i = 0; i < n; i += 1) assert.equal(index.find(ids[i] as string), i);
  for (let i = 0; i < n; i += 1) assert.equal(index.idOf(i), ids[i]);
  assert.equal(index.find('T-1'), -1);
  assert.equal(index.find(''), -1);
  // An insert without a preceding find still lands in a free slot.
  assert.equal(index.insert('late'), n);
  assert.equal(index.find('late'), n);
  assert.equal(index.find('T1'), 1);
  assert.equal(index.size, n + 1);
});

test('ids that differ only where bytes cannot tell them apart stay apart: lone surrogates, latin-1, the empty id', () => {
  const index = new IdIndex();
  // Each of these would collapse into another if kept as UTF-8 or latin-1 bytes.
  const ids = ['a\ud800', 'a\udc00', 'a\ufffd', 'é', '\u00e9', 'e\u0301', '\u0169', 'i', '', 'A', 'a'];
  const unique = [...new Set(ids)];
  for (const id of unique) assert.equal(index.insert(id), unique.indexOf(id));
  for (const id of unique) assert.equal(index.find(id), unique.indexOf(id), JSON.stringify(id));
  for (const [row, id] of unique.entries()) assert.equal(index.idOf(row), id);
  assert.equal(index.find('a\ud801'), -1);
});

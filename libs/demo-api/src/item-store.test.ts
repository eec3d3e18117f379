import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createItemStore, type PutResult, type StoredItem } from './item-store.js';

function stored(result: PutResult): StoredItem {
  assert.ok(result.ok, JSON.stringify(result));
  return result.item;
}

test('item store: create assigns a fresh id that comes first and wins over a body id', () => {
  const store = createItemStore();
  const a = stored(store.create({ id: 'mine', name: 'a', price: 1 }));
  const b = stored(store.create({ name: 'b' }));
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(a.json, JSON.stringify({ id: a.id, name: 'a', price: 1 }));
  assert.deepEqual(store.get(a.id), a);
  assert.equal(store.get('mine'), undefined);
});

test('item store: update replaces the fields, remove deletes, unknown ids are refused', () => {
  const store = createItemStore();
  const a = stored(store.create({ name: 'a', price: 1 }));
  const updated = stored(store.update(a.id, { name: 'a2' }));
  assert.equal(updated.json, JSON.stringify({ id: a.id, name: 'a2' }));
  assert.deepEqual(store.update('nope', { name: 'x' }), { ok: false, reason: 'not found' });
  assert.equal(store.remove(a.id), true);
  assert.equal(store.remove(a.id), false);
  assert.equal(store.get(a.id), undefined);
  const counts = store.counts();
  assert.deepEqual(counts, { held: 0, bytes: 0, created: 1, updated: 1, deleted: 1, evicted: 0 });
});

test('item store: past maxItems the item written longest ago is evicted', () => {
  const store = createItemStore({ maxItems: 3 });
  const [a, b, c] = [1, 2, 3].map((n) => stored(store.create({ name: `n${n}` })));
  stored(store.update(a!.id, { name: 'rewritten' }));
  const d = stored(store.create({ name: 'n4' }));
  assert.equal(store.get(b!.id), undefined, 'b was written longest ago (a was rewritten after it)');
  for (const kept of [a!, c!, d]) assert.ok(store.get(kept.id), kept.id);
  assert.equal(store.counts().evicted, 1);
  assert.equal(store.counts().held, 3);
});

test('item store: bytes are bounded: one item over maxItemBytes is refused, the total evicts', () => {
  const store = createItemStore({ maxItemBytes: 200, maxBytes: 500 });
  assert.deepEqual(store.create({ name: 'x'.repeat(300) }), { ok: false, reason: 'too large' });
  const ids = [];
  for (let i = 0; i < 10; i++) ids.push(stored(store.create({ name: 'y'.repeat(100) })).id);
  const counts = store.counts();
  assert.ok(counts.bytes <= 500, JSON.stringify(counts));
  assert.equal(counts.held + counts.evicted, 10);
  assert.ok(store.get(ids[9]!), 'the newest is kept');
  const big = stored(store.create({ name: 'z' }));
  assert.deepEqual(store.update(big.id, { name: 'z'.repeat(300) }), { ok: false, reason: 'too large' });
  assert.ok(store.get(big.id), 'a refused update leaves the item as it was');
  assert.equal(store.counts().created, 11, 'the refused create is not counted');
});

test('item store: list pages in write order', () => {
  const store = createItemStore();
  const ids = [1, 2, 3, 4, 5].map((n) => stored(store.create({ name: `n${n}` })).id);
  assert.deepEqual(
    store.list(1, 2).map((i) => i.id),
    ids.slice(1, 3),
  );
  assert.deepEqual(
    store.list(4, 10).map((i) => i.id),
    [ids[4]],
  );
  assert.deepEqual(store.list(9, 10), []);
});

// /secure/items: items stored under ids the API assigns, behind an issued Bearer token.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type Reply } from './http-client.js';
import type { DemoApi } from './options.js';
import { startDemoApi } from './server.js';

let api: DemoApi;
let client: ReturnType<typeof createClient>;
let auth: Record<string, string>;

before(async () => {
  api = await startDemoApi({ seed: 1, clientId: 'demo-client', clientSecret: 'demo-client-secret' });
  client = createClient(api.url);
  const r = await client.call('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=demo-client&client_secret=demo-client-secret',
  });
  auth = { authorization: `Bearer ${(r.json() as { access_token: string }).access_token}` };
});
after(async () => {
  await client.close();
  await api.close();
});

type Item = { id: string; [field: string]: unknown };

function call(method: string, path: string, body?: string): Promise<Reply> {
  return client.call(path, { method, headers: { ...auth, 'content-type': 'application/json' }, body });
}

async function create(fields: Record<string, unknown>): Promise<Item> {
  const r = await call('POST', '/secure/items', JSON.stringify(fields));
  assert.equal(r.status, 201, r.text);
  return r.json() as Item;
}

test('the CRUD cycle by assigned id: POST 201 + Location, GET, PUT, PATCH, DELETE 204, then 404', async () => {
  const posted = await call('POST', '/secure/items', '{"id":"chosen-by-client","name":"pen","price":2,"tags":["a"]}');
  assert.equal(posted.status, 201);
  const item = posted.json() as Item;
  assert.match(item.id, /^[0-9a-f-]{36}$/, 'the API assigns the id, whatever the body says');
  assert.deepEqual(item, { id: item.id, name: 'pen', price: 2, tags: ['a'] });
  assert.equal(posted.headers.location, `/secure/items/${item.id}`);
  const path = `/secure/items/${item.id}`;

  const got = await call('GET', path);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json(), item);

  const put = await call('PUT', path, '{"name":"pencil","colour":"red"}');
  assert.equal(put.status, 200);
  assert.deepEqual(put.json(), { id: item.id, name: 'pencil', colour: 'red' }, 'PUT replaces every field');

  const patch = await call('PATCH', path, '{"colour":null,"price":3,"dims":{"w":1}}');
  assert.equal(patch.status, 200);
  assert.deepEqual(patch.json(), { id: item.id, name: 'pencil', price: 3, dims: { w: 1 } }, 'a merge patch');
  assert.deepEqual((await call('GET', path)).json(), patch.json(), 'the change is stored');

  const deleted = await call('DELETE', path);
  assert.equal(deleted.status, 204);
  assert.equal(deleted.text, '');
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    const r = await call(method, path, method === 'PUT' || method === 'PATCH' ? '{"name":"x"}' : undefined);
    assert.equal(r.status, 404, method);
    assert.deepEqual(r.json(), { error: 'not found' });
  }
});

test('unknown ids are 404 for every method', async () => {
  for (const id of ['nope', '42', '00000000-0000-0000-0000-000000000000', '%E2%9C%93']) {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      const body = method === 'PUT' || method === 'PATCH' ? '{"name":"x"}' : undefined;
      assert.equal((await call(method, `/secure/items/${id}`, body)).status, 404, `${method} ${id}`);
    }
  }
});

test('a body that is not JSON is 400; not an object or without name is 422; too large is 413', async () => {
  const { id } = await create({ name: 'keep' });
  const path = `/secure/items/${id}`;
  for (const [method, target] of [
    ['POST', '/secure/items'],
    ['PUT', path],
    ['PATCH', path],
  ] as const) {
    for (const bad of ['{nope', '', 'name=x']) {
      const r = await call(method, target, bad);
      assert.equal(r.status, 400, `${method} ${JSON.stringify(bad)}`);
      assert.match((r.json() as { error: string }).error, /^invalid JSON/);
    }
    for (const bad of ['[1]', '"text"', '7', 'null'])
      assert.equal((await call(method, target, bad)).status, 422, `${method} ${bad}`);
    const huge = JSON.stringify({ name: 'x'.repeat(70_000) });
    assert.equal((await call(method, target, huge)).status, 413, `${method} huge`);
  }
  assert.equal((await call('POST', '/secure/items', '{"price":1}')).status, 422, 'POST needs a name');
  assert.equal((await call('PUT', path, '{"name":""}')).status, 422, 'PUT needs a name');
  assert.equal((await call('PATCH', path, '{"name":null}')).status, 422, 'a patch may not remove the name');
  assert.equal((await call('PATCH', path, '{"price":5}')).status, 200, 'a patch need not repeat the name');
  assert.deepEqual((await call('GET', path)).json(), { id, name: 'keep', price: 5 }, 'refused writes changed nothing');
});

test('a patch with __proto__ stores a plain member and pollutes nothing', async () => {
  const { id } = await create({ name: 'p' });
  const r = await call('PATCH', `/secure/items/${id}`, '{"__proto__":{"polluted":true}}');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), JSON.parse(`{"id":"${id}","name":"p","__proto__":{"polluted":true}}`));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('100 concurrent POSTs get 100 distinct ids, each readable by its own id', async () => {
  const made = await Promise.all(Array.from({ length: 100 }, (_, i) => create({ name: `n${i}`, n: i })));
  assert.equal(new Set(made.map((m) => m.id)).size, 100);
  const read = await Promise.all(made.map((m) => call('GET', `/secure/items/${m.id}`)));
  read.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { id: made[i]!.id, name: `n${i}`, n: i });
  });
});

test('GET /secure/items lists stored items in pages', async () => {
  const mine = [await create({ name: 'l1' }), await create({ name: 'l2' })];
  const all = (await call('GET', '/secure/items?limit=1000')).json() as { items: Item[]; total: number; limit: number };
  assert.equal(all.total, all.items.length);
  assert.deepEqual(all.items.slice(-2), mine);
  const page = (await call('GET', `/secure/items?limit=1&offset=${all.total - 1}`)).json() as { items: Item[] };
  assert.deepEqual(page.items, [mine[1]]);
});

test('without a valid token nothing is read or changed, and 401 comes before 404', async () => {
  const { id } = await create({ name: 'guarded' });
  const path = `/secure/items/${id}`;
  const before = api.stats().secureItems;
  for (const headers of [{}, { authorization: 'Bearer forged' }] as Record<string, string>[]) {
    for (const [method, target] of [
      ['GET', path],
      ['PUT', path],
      ['PATCH', path],
      ['DELETE', path],
      ['POST', '/secure/items'],
      ['GET', '/secure/items'],
      ['GET', '/secure/items/unknown'],
    ]) {
      const r = await client.call(target!, {
        method,
        headers,
        body: method === 'GET' || method === 'DELETE' ? undefined : '{"name":"x"}',
      });
      assert.equal(r.status, 401, `${method} ${target} ${JSON.stringify(headers)}`);
    }
  }
  assert.deepEqual(api.stats().secureItems, before);
  assert.deepEqual((await call('GET', path)).json(), { id, name: 'guarded' });
});

test('/stats counts items and POSTs per route', async () => {
  const before = api.stats();
  const a = await create({ name: 's1' });
  await call('PUT', `/secure/items/${a.id}`, '{"name":"s2"}');
  await call('DELETE', `/secure/items/${a.id}`);
  const r = (await client.call('/stats')).json() as ReturnType<DemoApi['stats']>;
  assert.equal(r.secureItems.created, before.secureItems.created + 1);
  assert.equal(r.secureItems.updated, before.secureItems.updated + 1);
  assert.equal(r.secureItems.deleted, before.secureItems.deleted + 1);
  assert.equal(r.secureItems.held, before.secureItems.held);
  assert.equal(r.byRoute['POST /secure/items'], before.byRoute['POST /secure/items']! + 1);
  assert.equal(r.byStatus['201'], (before.byStatus['201'] ?? 0) + 1);
  assert.equal(r.byStatus['204'], (before.byStatus['204'] ?? 0) + 1);
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient } from './http-client.js';
import type { DemoApi } from './options.js';
import { startDemoApi } from './server.js';

let api: DemoApi;
let client: ReturnType<typeof createClient>;

before(async () => {
  api = await startDemoApi({ token: 't0ken', seed: 1 });
  client = createClient(api.url);
});
after(async () => {
  await client.close();
  await api.close();
});

test('listens on 127.0.0.1 with a free port and reports it', () => {
  assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(api.port > 0);
  assert.equal(api.url.endsWith(`:${api.port}`), true);
});

test('GET /health', async () => {
  const r = await client.call('/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { status: 'ok' });
});

test('GET /items lists items, honouring limit and offset', async () => {
  const r = await client.call('/items?limit=3&offset=5');
  assert.equal(r.status, 200);
  const body = r.json() as { items: { id: number }[]; total: number };
  assert.deepEqual(
    body.items.map((i) => i.id),
    [5, 6, 7],
  );
  assert.equal(body.total, 10001);
  const def = (await client.call('/items')).json() as { items: unknown[] };
  assert.equal(def.items.length, 10);
});

test('GET /items/:id is deterministic and 404s past 10000 or non-numeric', async () => {
  const a = await client.call('/items/42');
  const b = await client.call('/items/42');
  assert.equal(a.status, 200);
  assert.equal(a.text, b.text);
  const item = a.json() as { id: unknown; name: string; price: number; tags: string[] };
  assert.equal(item.id, 42);
  assert.equal(item.name, 'item-42');
  assert.equal(typeof item.price, 'number');
  assert.ok(Array.isArray(item.tags) && item.tags.length > 0);
  assert.equal((await client.call('/items/10000')).status, 200);
  for (const bad of ['/items/10001', '/items/abc', '/items/-1', '/items/1.5']) {
    const r = await client.call(bad);
    assert.equal(r.status, 404, bad);
    assert.deepEqual(r.json(), { error: 'not found' });
  }
});

test('POST /items creates (201), PUT/PATCH update (200), validating the body', async () => {
  const created = await client.call('/items', { method: 'POST', body: '{"name":"new","price":3}' });
  assert.equal(created.status, 201);
  const c = created.json() as { id: number; name: string; price: number };
  assert.equal(c.name, 'new');
  assert.ok(c.id > 10000);
  const put = await client.call('/items/7', { method: 'PUT', body: '{"name":"seven"}' });
  assert.equal(put.status, 200);
  assert.deepEqual((put.json() as { id: number; name: string }).id, 7);
  assert.equal((put.json() as { name: string }).name, 'seven');
  const patch = await client.call('/items/7', { method: 'PATCH', body: '{"name":"s","price":1}' });
  assert.equal(patch.status, 200);
  assert.equal((patch.json() as { price: number }).price, 1);
  assert.equal((await client.call('/items/7', { method: 'PUT', body: '{nope' })).status, 400);
  assert.equal((await client.call('/items', { method: 'POST', body: '' })).status, 400);
  const missing = await client.call('/items', { method: 'POST', body: '{"price":1}' });
  assert.equal(missing.status, 422);
  assert.match(missing.text, /name/);
  assert.equal((await client.call('/items', { method: 'POST', body: '[1]' })).status, 422);
  assert.equal((await client.call('/items/99999', { method: 'PUT', body: '{"name":"x"}' })).status, 404);
});

test('DELETE /items/:id answers 204 with no body, 404 for a missing id', async () => {
  const r = await client.call('/items/3', { method: 'DELETE' });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal((await client.call('/items/20000', { method: 'DELETE' })).status, 404);
});

test('/echo returns method, path, query, headers as sent, body and parsed json', async () => {
  const r = await client.call('/echo?a=1&a=2&b=x%20y', {
    method: 'PUT',
    headers: { 'X-Custom': 'Value With Case', authorization: 'Bearer abc', 'content-type': 'application/json' },
    body: '{"k":[1,2]}',
  });
  assert.equal(r.status, 200);
  const e = r.json() as Record<string, unknown> & { headers: Record<string, string> };
  assert.equal(e.method, 'PUT');
  assert.equal(e.path, '/echo');
  assert.deepEqual(e.query, { a: ['1', '2'], b: 'x y' });
  assert.equal(e.headers['x-custom'], 'Value With Case');
  assert.equal(e.headers.authorization, 'Bearer abc');
  assert.equal(e.body, '{"k":[1,2]}');
  assert.deepEqual(e.json, { k: [1, 2] });
  const plain = (await client.call('/echo', { method: 'DELETE' })).json() as Record<string, unknown>;
  assert.equal(plain.method, 'DELETE');
  assert.equal(plain.body, '');
  assert.equal(plain.json, null);
});

test('GET /status/:code answers that status with a small JSON body', async () => {
  for (const code of [200, 201, 302, 404, 418, 500, 503]) {
    const r = await client.call(`/status/${code}`);
    assert.equal(r.status, code);
    assert.deepEqual(r.json(), { status: code });
  }
  assert.equal((await client.call('/status/204')).text, '');
  assert.equal((await client.call('/status/99')).status, 400);
  assert.equal((await client.call('/status/abc')).status, 400);
});

test('GET /delay/:ms waits at least that long', async () => {
  const r = await client.call('/delay/120');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { delayedMs: 120 });
  assert.ok(r.ms >= 115, `took ${r.ms} ms`);
});

test('GET /bytes/:n streams exactly n bytes, refuses past 100 MB', async () => {
  for (const n of [0, 1, 65_536, 200_001]) {
    const r = await client.call(`/bytes/${n}`);
    assert.equal(r.status, 200);
    assert.equal(Buffer.byteLength(r.text), n);
    assert.equal(r.headers['content-length'], String(n));
  }
  assert.ok((await client.call('/bytes/40')).text.startsWith('abcdefghijklmnopqrstuvwxyz0123456789\nabc'));
  assert.equal((await client.call(`/bytes/${100 * 1024 * 1024 + 1}`)).status, 413);
});

test('GET /reset destroys the socket without an answer', async () => {
  await assert.rejects(client.call('/reset'), (err: Error & { code?: string }) => {
    assert.match(String(err.code ?? err.message), /SOCKET|RESET|closed/i);
    return true;
  });
});

test('GET /secure needs the Bearer token', async () => {
  const none = await client.call('/secure');
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /Bearer/);
  assert.equal((await client.call('/secure', { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const ok = await client.call('/secure', { headers: { authorization: 'Bearer t0ken' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json(), { ok: true });
});

test('GET /flaky/:key fails N times per key with Retry-After, then succeeds', async () => {
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    const r = await client.call('/flaky/k1?fail=2');
    statuses.push(r.status);
    if (r.status === 503) assert.equal(r.headers['retry-after'], '1');
  }
  assert.deepEqual(statuses, [503, 503, 200, 200]);
  assert.equal((await client.call('/flaky/k2?fail=0')).status, 200);
  assert.equal((await client.call('/flaky/k3')).status, 503, 'default fail=1');
});

test('GET /ratelimit-headers counts down a window and 429s when spent', async () => {
  const first = await client.call('/ratelimit-headers?limit=3');
  assert.equal(first.status, 200);
  assert.match(String(first.headers.ratelimit), /^limit=3, remaining=\d, reset=\d+$/);
  assert.equal(first.headers['ratelimit-policy'], '3;w=1');
  assert.ok(first.headers['x-ratelimit-remaining'] !== undefined);
  assert.ok(first.headers['x-ratelimit-reset'] !== undefined);
  const statuses = [first.status];
  // A window boundary may fall inside any few calls (5 calls once met 2 + 3 around one): call
  // on until a 429, bounded; 3 a second cannot hold 40 calls unless each took over 0.3 s.
  for (let i = 0; i < 40 && !statuses.includes(429); i++)
    statuses.push((await client.call('/ratelimit-headers?limit=3')).status);
  assert.ok(statuses.includes(429), statuses.join(','));
  assert.ok(statuses.indexOf(429) >= 3, `a 429 before the window's 3 were spent: ${statuses.join(',')}`);
});

test('GET /ratelimit honours ?limit= with 429 and Retry-After', async () => {
  // 0.2/s: the first passes, the others would need 5 s to earn a token.
  const replies = await Promise.all(Array.from({ length: 6 }, () => client.call('/ratelimit?limit=0.2')));
  const limited = replies.filter((r) => r.status === 429);
  assert.equal(limited.length, 5, replies.map((r) => r.status).join(','));
  assert.match(String(limited[0]!.headers['retry-after']), /^\d+$/);
});

test('GET /html is hostile markup', async () => {
  const r = await client.call('/html');
  assert.match(String(r.headers['content-type']), /text\/html/);
  assert.match(r.text, /<script>alert\(1\)<\/script>/);
});

test('unknown routes 404 JSON, wrong methods 405', async () => {
  const r = await client.call('/nope/deeper');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { error: 'not found' });
  const m = await client.call('/items', { method: 'DELETE' });
  assert.equal(m.status, 405);
});

test('GET /stats and stats() count requests by route', async () => {
  const before = api.stats();
  await client.call('/items/1');
  await client.call('/items/2');
  const after = api.stats();
  assert.equal(after.requests, before.requests + 2);
  assert.equal(after.byRoute['GET /items/:id'], (before.byRoute['GET /items/:id'] ?? 0) + 2);
  const r = (await client.call('/stats')).json() as { requests: number; byRoute: Record<string, number> };
  assert.equal(r.requests, after.requests + 1);
});

test('64 concurrent keep-alive connections are served', async () => {
  const replies = await Promise.all(Array.from({ length: 128 }, (_, i) => client.call(`/items/${i}?latency=20`)));
  assert.ok(replies.every((r) => r.status === 200));
});

// POST /auth/token and the Bearer check of /secure/*, over HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { createClient, type Reply } from './http-client.js';
import type { DemoApi } from './options.js';
import { startDemoApi } from './server.js';

let api: DemoApi;
let client: ReturnType<typeof createClient>;

before(async () => {
  api = await startDemoApi({ clientId: 'cid', clientSecret: 's3cret:+%', tokenTtlS: 120, seed: 1 });
  client = createClient(api.url);
});
after(async () => {
  await client.close();
  await api.close();
});

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const goodForm = `grant_type=client_credentials&client_id=cid&client_secret=${encodeURIComponent('s3cret:+%')}`;

function postToken(body: string, headers: Record<string, string> = form, query = ''): Promise<Reply> {
  return client.call(`/auth/token${query}`, { method: 'POST', headers, body });
}

function assertToken(r: Reply, expiresIn: number): string {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers.pragma, 'no-cache');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const body = r.json() as { access_token: string; token_type: string; expires_in: number };
  assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in']);
  assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, expiresIn);
  return body.access_token;
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

test('a form body with client_id and client_secret gets a token', async () => {
  assertToken(await postToken(goodForm), 120);
  const stale = { ...form, authorization: 'Bearer stale-token-from-a-suite-wide-header' };
  assertToken(await postToken(goodForm, stale), 120);
});

test('a JSON body gets a token', async () => {
  const body = JSON.stringify({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 's3cret:+%' });
  assertToken(await postToken(body, { 'content-type': 'application/json' }), 120);
});

test('HTTP Basic client authentication gets a token, with a form or a JSON body', async () => {
  const auth = basic('cid', 's3cret:+%');
  assertToken(await postToken('grant_type=client_credentials', { ...form, authorization: auth }), 120);
  const json = { 'content-type': 'application/json', authorization: auth };
  assertToken(await postToken('{"grant_type":"client_credentials"}', json), 120);
});

test('every token is new: 50 concurrent requests get 50 different tokens', async () => {
  const replies = await Promise.all(Array.from({ length: 50 }, () => postToken(goodForm)));
  assert.equal(new Set(replies.map((r) => assertToken(r, 120))).size, 50);
});

test('wrong credentials are 401 invalid_client with a Basic challenge, in every form', async () => {
  const attempts: [string, Record<string, string>][] = [
    ['grant_type=client_credentials&client_id=cid&client_secret=wrong', form],
    ['grant_type=client_credentials&client_id=other&client_secret=s3cret%3A%2B%25', form],
    ['grant_type=client_credentials&client_id=cid', form],
    ['grant_type=client_credentials', form],
    [
      '{"grant_type":"client_credentials","client_id":"cid","client_secret":"S3CRET:+%"}',
      { 'content-type': 'application/json' },
    ],
    ['grant_type=client_credentials', { ...form, authorization: basic('cid', 'wrong') }],
    ['grant_type=client_credentials', { ...form, authorization: basic('cid', '') }],
  ];
  for (const [body, headers] of attempts) {
    const r = await postToken(body, headers);
    assert.equal(r.status, 401, `${body} ${JSON.stringify(headers)}`);
    assert.equal((r.json() as { error: string }).error, 'invalid_client');
    assert.match(String(r.headers['www-authenticate']), /^Basic realm="demo"/);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('a wrong grant type is 400 unsupported_grant_type, a missing one 400 invalid_request', async () => {
  for (const grant of ['password', 'authorization_code', 'CLIENT_CREDENTIALS', '']) {
    const r = await postToken(`grant_type=${grant}&client_id=cid&client_secret=${encodeURIComponent('s3cret:+%')}`);
    assert.equal(r.status, 400, grant);
    assert.equal((r.json() as { error: string }).error, 'unsupported_grant_type', grant);
  }
  const missing = await postToken('client_id=cid');
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.json(), { error: 'invalid_request', error_description: 'grant_type is required' });
});

test('malformed token requests are 400 invalid_request', async () => {
  const cases: [string, Record<string, string>][] = [
    [goodForm, { 'content-type': 'text/plain' }],
    ['{not json', { 'content-type': 'application/json' }],
    [`${goodForm}&grant_type=client_credentials`, form],
    ['grant_type=client_credentials&client_secret=x', { ...form, authorization: basic('cid', 's3cret:+%') }],
    ['grant_type=client_credentials', { ...form, authorization: 'Basic ###' }],
  ];
  for (const [body, headers] of cases) {
    const r = await postToken(body, headers);
    assert.equal(r.status, 400, `${body} ${JSON.stringify(headers)}`);
    assert.equal((r.json() as { error: string }).error, 'invalid_request');
    assert.equal(r.headers['cache-control'], 'no-store');
  }
  assert.equal((await client.call('/auth/token')).status, 405, 'only POST');
});

test('?ttl= sets one token lifetime; a bad value falls back to the tokenTtlS option', async () => {
  assertToken(await postToken(goodForm, form, '?ttl=7'), 7);
  for (const bad of ['0', '-1', '1.5', 'abc', '99999999999'])
    assertToken(await postToken(goodForm, form, `?ttl=${bad}`), 120);
});

test('/secure/items: 401 without a token, 401 invalid_token with a bad one, 400 when malformed', async () => {
  const none = await client.call('/secure/items');
  assert.equal(none.status, 401);
  assert.equal(
    none.headers['www-authenticate'],
    'Bearer realm="demo"',
    'RFC 6750 3.1: no error code without credentials',
  );
  assert.equal((none.json() as { error: string }).error, 'unauthorized');
  const basicOnly = await client.call('/secure/items', { headers: { authorization: basic('cid', 's3cret:+%') } });
  assert.equal(basicOnly.status, 401, 'client credentials are not an access token');
  for (const token of ['wrong', 'demo-secret', 'A'.repeat(43), `${assertToken(await postToken(goodForm), 120)}x`]) {
    const r = await client.call('/secure/items', { headers: bearer(token) });
    assert.equal(r.status, 401, token);
    assert.match(String(r.headers['www-authenticate']), /^Bearer realm="demo", error="invalid_token"/);
    assert.deepEqual(r.json(), { error: 'invalid_token', error_description: 'the access token is unknown' });
  }
  for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer tok,en', 'Bearer "quoted"']) {
    const r = await client.call('/secure/items', { headers: { authorization: header } });
    assert.equal(r.status, 400, header);
    assert.match(String(r.headers['www-authenticate']), /error="invalid_request"/);
  }
});

test('a valid token opens /secure/items; the scheme name is case-insensitive', async () => {
  const token = assertToken(await postToken(goodForm), 120);
  assert.equal((await client.call('/secure/items', { headers: bearer(token) })).status, 200);
  assert.equal((await client.call('/secure/items', { headers: { authorization: `bearer ${token}` } })).status, 200);
  assert.equal((await client.call('/secure/items', { headers: { authorization: `BEARER  ${token}` } })).status, 200);
});

test('a token expires after its TTL (1 s): 200 before, 401 invalid_token "expired" after', async () => {
  const started = performance.now();
  const token = assertToken(await postToken(goodForm, form, '?ttl=1'), 1);
  const early = await client.call('/secure/items', { headers: bearer(token) });
  // Only a machine too loaded to answer within the second could see it expired already.
  if (performance.now() - started < 900) assert.equal(early.status, 200);
  const deadline = performance.now() + 10_000;
  let late: Reply;
  do {
    await wait(100);
    late = await client.call('/secure/items', { headers: bearer(token) });
  } while (late.status === 200 && performance.now() < deadline);
  assert.ok(performance.now() - started >= 1000, 'not before the second was up');
  assert.equal(late.status, 401);
  assert.match(
    String(late.headers['www-authenticate']),
    /error="invalid_token", error_description="the access token expired"/,
  );
  const again = await client.call('/secure/items/x', { headers: bearer(token) });
  assert.equal(again.status, 401, 'an expired token stays refused on every route');
});

test('onTokenIssued hears every token issued, with its lifetime, and nothing refused', async () => {
  const heard: [string, number][] = [];
  const watched = await startDemoApi({ clientId: 'a', clientSecret: 'b', onTokenIssued: (t, s) => heard.push([t, s]) });
  const c = createClient(watched.url);
  try {
    const login = (secret: string, query = '') =>
      c.call(`/auth/token${query}`, {
        method: 'POST',
        headers: form,
        body: `grant_type=client_credentials&client_id=a&client_secret=${secret}`,
      });
    const tokens = [];
    for (const query of ['', '?ttl=9'])
      tokens.push(((await login('b', query)).json() as { access_token: string }).access_token);
    assert.equal((await login('wrong')).status, 401);
    assert.deepEqual(heard, [
      [tokens[0], 3600],
      [tokens[1], 9],
    ]);
  } finally {
    await c.close();
    await watched.close();
  }
});

test('the tokenTtlS option is the default expires_in and real lifetime', async () => {
  const short = await startDemoApi({ tokenTtlS: 1, clientId: 'a', clientSecret: 'b' });
  const c = createClient(short.url);
  try {
    const r = await c.call('/auth/token', {
      method: 'POST',
      headers: form,
      body: 'grant_type=client_credentials&client_id=a&client_secret=b',
    });
    const token = (r.json() as { access_token: string; expires_in: number }).access_token;
    assert.equal((r.json() as { expires_in: number }).expires_in, 1);
    await wait(1100);
    const late = await c.call('/secure/items', { headers: bearer(token) });
    assert.equal(late.status, 401);
    assert.match(late.text, /expired/);
  } finally {
    await c.close();
    await short.close();
  }
});

test('/stats counts tokens issued, refused token requests, 401s and 400s by kind', async () => {
  const before = api.stats();
  const token = assertToken(await postToken(goodForm), 120);
  await postToken('grant_type=client_credentials&client_id=cid&client_secret=no');
  await postToken('grant_type=password');
  await client.call('/secure/items');
  await client.call('/secure/items', { headers: bearer('nope') });
  await client.call('/secure/items', { headers: { authorization: 'Bearer' } });
  await client.call('/secure/items', { headers: bearer(token) });
  const r = (await client.call('/stats')).json() as ReturnType<DemoApi['stats']>;
  const a = r.auth;
  assert.equal(a.tokensIssued, before.auth.tokensIssued + 1);
  assert.equal(a.tokenErrors.invalid_client, (before.auth.tokenErrors.invalid_client ?? 0) + 1);
  assert.equal(a.tokenErrors.unsupported_grant_type, (before.auth.tokenErrors.unsupported_grant_type ?? 0) + 1);
  assert.equal(a.unauthorized.missing, before.auth.unauthorized.missing + 1);
  assert.equal(a.unauthorized.invalid, before.auth.unauthorized.invalid + 1);
  assert.equal(a.malformed, before.auth.malformed + 1);
  assert.ok(a.tokensHeld >= 1 && a.tokensHeld <= a.tokensIssued);
  assert.equal(r.byStatus['401'], (before.byStatus['401'] ?? 0) + 3);
  assert.equal(r.byRoute['POST /auth/token'], (before.byRoute['POST /auth/token'] ?? 0) + 3);
  assert.deepEqual(api.stats().auth, a, 'api.stats() and /stats agree');
});

test('GET /secure keeps its static token and does not take an issued one', async () => {
  const token = assertToken(await postToken(goodForm), 120);
  assert.equal((await client.call('/secure', { headers: bearer(token) })).status, 401);
  const r = await client.call('/secure');
  assert.deepEqual(r.json(), { error: 'unauthorized' });
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="demo"');
});

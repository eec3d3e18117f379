import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpAnswer, OutgoingRequest } from './http-client.js';
import { createSecretSet } from './redact.js';
import { credentialLike, makeDebug, parseTrace, tracedUpFront } from './trace.js';

const rec = (id: string, tags: string[] = []) => ({ id, tags }) as unknown as Parameters<typeof tracedUpFront>[1];

test('parseTrace: ids, tag:NAME and failed; tracedUpFront picks by id or tag', () => {
  assert.equal(parseTrace([]), null);
  const sel = parseTrace(['T1', 'tag:smoke', 'failed', 'tag:x:y']);
  assert.ok(sel);
  assert.deepEqual([...sel.ids], ['T1']);
  assert.deepEqual([...sel.tags], ['smoke', 'x:y']);
  assert.equal(sel.failed, true);
  assert.equal(tracedUpFront(sel, rec('T1')), true);
  assert.equal(tracedUpFront(sel, rec('T2', ['smoke'])), true);
  assert.equal(tracedUpFront(sel, rec('T3', ['other'])), false);
  assert.equal(tracedUpFront(null, rec('T1')), false);
});

test('credentialLike: credential headers, cookies, tokens, sessions, keys; not a challenge or a plain header', () => {
  for (const name of [
    'Authorization',
    'Cookie',
    'Set-Cookie',
    'X-Api-Key',
    'x-apikey',
    'X-Session-Id',
    'X-CSRF-Token',
    'Proxy-Authorization',
    'X-Client-Secret',
    'X-Password',
    'X-Amz-Security-Token',
    'X-Credential',
  ])
    assert.equal(credentialLike(name), true, name);
  for (const name of ['Content-Type', 'WWW-Authenticate', 'X-Request-Id', 'Retry-After', 'Location'])
    assert.equal(credentialLike(name), false, name);
});

function answer(body: string, headers: string[] = []): HttpAnswer {
  const buf = Buffer.from(body);
  return {
    status: 500,
    headers: {},
    text: '',
    bytes: buf.length,
    truncated: false,
    decodedBytes: null,
    durationMs: 1,
    rawHeaders: headers.map((h) => Buffer.from(h, 'latin1')),
    // Two chunks, so the cut falls across them.
    sample: [buf.subarray(0, 10), buf.subarray(10)],
  };
}

const request: OutgoingRequest = {
  origin: 'http://api.test',
  path: '/x?key=SEKRET',
  method: 'POST',
  headers: { Authorization: 'Bearer SEKRET', 'X-Plain': 'v' },
  body: `{"pw":"SEKRET","pad":"${'p'.repeat(100)}"}`,
  timeoutMs: 1000,
  keepText: false,
};

test('makeDebug: redacted URL, headers and bodies; bodies cut by bytes, a secret across the cut still redacted', () => {
  const secrets = createSecretSet();
  secrets.add('SEKRET');
  const clean = (t: string) => secrets.redact(t);
  // The secret straddles byte 20: the cut text must not show its first half.
  const body = `${'a'.repeat(17)}SEKRET and more ü text`;
  const d = makeDebug(request, answer(body, ['Set-Cookie', 'sid=1', 'X-Trace', 'caf\xe9']), clean, 20);
  assert.equal(d.request.url, 'http://api.test/x?key=[redacted]');
  assert.deepEqual(d.request.headers, [
    ['Authorization', '[redacted]'],
    ['X-Plain', 'v'],
  ]);
  assert.ok(d.request.body?.startsWith('{"pw":"[redacted]"'));
  assert.equal(d.request.bodyCut, true);
  assert.equal(d.request.bodyBytes, Buffer.byteLength(request.body as string));
  assert.ok(d.response);
  assert.deepEqual(d.response.headers, [
    ['Set-Cookie', '[redacted]'],
    ['X-Trace', 'café'],
  ]);
  assert.ok(!d.response.body.includes('SEK'), d.response.body);
  assert.ok(Buffer.byteLength(d.response.body) <= 20);
  assert.equal(d.response.bodyCut, true);
  assert.equal(d.response.bodyBytes, Buffer.byteLength(body));
  // A cut inside a multi-byte character drops the broken half rather than showing U+FFFD.
  const utf = makeDebug(request, answer('ééééé'), (t) => t, 5);
  assert.equal(utf.response?.body, 'éé');
  const none = makeDebug(request, null, clean);
  assert.equal(none.response, null);
});

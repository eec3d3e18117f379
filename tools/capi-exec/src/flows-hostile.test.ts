import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileScope, get, ndjson } from './test-support/fixtures.js';
import { execRun } from './test-support/flow-suites.js';

// Flows against hostile suites and servers (issue 13's review): names that reach an
// object's prototype, stops during a re-login, odd `expires_in`, huge captured values.
const scope = fileScope();

test('a capture named __proto__, constructor or prototype is exit 2 naming the line and field; nothing is sent', async () => {
  const server = await scope.server((_req, res) => res.end('{}'));
  for (const name of ['__proto__', 'constructor', 'prototype']) {
    // capi-exec streams its input: the bad record comes first so that nothing is sent.
    const records = [get('bad', '/b', { flow: 'f', capture: [{ name, source: 'status' }] }), get('ok', '/a')];
    const r = await execRun(['--base-url', server.url], { input: ndjson(records) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`<stdin>:1: field "capture\\[0\\]": capture name "${name}" is not allowed`));
    assert.equal(r.stdout, '');
  }
  assert.equal(server.hits.length, 0);
});

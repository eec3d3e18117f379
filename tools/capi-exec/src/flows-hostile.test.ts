import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEBUG_MESSAGE_CHARS, DEBUG_URL_CHARS } from '@capi/core';
import { fileScope, get, ndjson } from './test-support/fixtures.js';
import { execRun, lastPerId, results } from './test-support/flow-suites.js';

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

test('a captured value of 100,000 characters in a URL: debug, --trace and error messages cut it', async () => {
  const big = 'x'.repeat(100_000);
  const server = await scope.server((req, res) => {
    res.writeHead(req.url === '/make' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/make' ? JSON.stringify({ big, host: `http://[${big}` }) : '{}');
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const records = [
    get('make', '/make', { flow: 'f', capture: [{ name: 'big', source: 'json:$.big' }] }),
    get('use', '/items/{{big}}', { flow: 'f' }),
    get('make2', '/make', { flow: 'g', capture: [{ name: 'host', source: 'json:$.host' }] }),
    get('abs', '{{host}}/x', { flow: 'g' }),
  ];
  const r = await execRun(['--base-url', server.url, '--journal', journal, '--trace', 'failed'], {
    input: ndjson(records),
  });
  assert.equal(r.code, 1, r.stderr.slice(0, 2000));
  const by = lastPerId(results(r.stdout));
  const use = by.get('use') as unknown as { status: string; debug: { request: { url: string } } };
  assert.equal(use.status, 'failed');
  assert.ok(use.debug.request.url.length < DEBUG_URL_CHARS + 40, `url of ${use.debug.request.url.length}`);
  assert.match(use.debug.request.url, /… \(100\d{3} characters\)$/);
  const abs = by.get('abs');
  assert.equal(abs?.error?.code, 'BAD_URL');
  assert.ok((abs?.error?.message.length ?? 0) < DEBUG_MESSAGE_CHARS + 40, `message of ${abs?.error?.message.length}`);
  for (const line of r.stderr.split('\n'))
    assert.ok(line.length < DEBUG_MESSAGE_CHARS + 80, `stderr line of ${line.length}`);
  for (const line of (await readFile(journal, 'utf8')).split('\n'))
    assert.ok(line.length < 4 * DEBUG_MESSAGE_CHARS, `journal line of ${line.length}`);
});

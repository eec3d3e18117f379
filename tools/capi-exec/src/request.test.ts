import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestDebug } from '@capi/core';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

const scope = fileScope();

type Result = {
  id: string;
  status: string;
  attempts: number;
  durationMs: number;
  response: unknown;
  error: { code: string; message: string } | null;
  debug?: TestDebug;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

test('template values with spaces and non-ASCII are percent-encoded like a WHATWG URL; escapes and reserved characters stay', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const input = ndjson([
    get('space', '/echo?q={{q}}', { vars: { q: 'a b' } }),
    get('umlaut', '/p/{{q}}?q={{q}}', { vars: { q: 'ü' } }),
    get('kept', '/echo?q={{q}}&r=%2F', { vars: { q: 'x=1;y' } }),
    get('frag', '/echo?q=a#b c'),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '2', '--concurrency', '1'], { input });
  assert.equal(r.code, 0, r.stderr);
  for (const res of byId(r.stdout).values()) assert.equal(res.attempts, 1);
  assert.deepEqual(
    s.hits.map((h) => h.path),
    ['/echo?q=a%20b', '/p/%C3%BC?q=%C3%BC', '/echo?q=x=1;y&r=%2F', '/echo?q=a'],
  );
});

test('a request the HTTP client refuses (a newline in a header value) is BAD_HEADER: attempts 0, not retried, nothing sent', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const input = ndjson([get('nl', '/x', { vars: { q: 'a\nb' } }), get('fine', '/y', { vars: { q: 'ab' } })]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '3', '-H', 'X-Q: {{q}}'], { input });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  assert.equal(res.get('fine')?.status, 'passed');
  const nl = res.get('nl');
  assert.equal(nl?.status, 'error');
  assert.equal(nl?.error?.code, 'BAD_HEADER');
  assert.equal(nl?.attempts, 0);
  assert.equal(nl?.durationMs, 0);
  assert.equal(nl?.response, null);
  // Its debug part shows the request as it was refused: the header at fault, no response.
  assert.deepEqual(nl?.debug?.request?.headers, [['X-Q', 'a\nb']]);
  assert.equal(nl?.debug?.response, null);
  assert.equal(res.get('fine')?.debug, undefined);
  assert.deepEqual(
    s.hits.map((h) => h.path),
    ['/y'],
  );
});

test("--header names are case-insensitive: the later one wins, and a test's own header replaces both", async () => {
  const s = await scope.server((req, res) => res.end(`x-a=${req.headers['x-a']}`));
  const input = ndjson([
    get('flag', '/f', { expect: { body: 'x-a=2' } }),
    get('own', '/o', { request: { headers: { 'X-a': '3' } }, expect: { body: 'x-a=3' } }),
  ]);
  for (const second of ['x-a: 2', 'X-A: 2']) {
    const r = await runTool('capi-exec', ['--base-url', s.url, '-H', 'X-A: 1', '-H', second], { input });
    assert.equal(r.code, 0, `${second}: ${r.stdout}`);
  }
});

test('errors that never sent a request all have attempts 0, durationMs 0 and a null response; nothing reaches the API', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const input = ndjson([
    // Static bad expectations are refused as input (exit 2); from templates they show at run time.
    get('regex', '/a', { expect: { body: '{{v}}' }, vars: { v: '/[/' } }),
    get('json', '/a', { expect: { json: '{{v}}' }, vars: { v: '{bad' } }),
    get('tmpl', '/items/{{nope}}'),
    get('scheme', 'ftp://127.0.0.1/x'),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '3'], { input });
  assert.equal(r.code, 1, r.stderr);
  const codes: Record<string, string> = {
    regex: 'BAD_EXPECT',
    json: 'BAD_EXPECT',
    tmpl: 'TEMPLATE',
    scheme: 'BAD_URL',
  };
  const res = byId(r.stdout);
  for (const [id, code] of Object.entries(codes)) {
    const got = res.get(id);
    assert.deepEqual(
      {
        status: got?.status,
        code: got?.error?.code,
        attempts: got?.attempts,
        ms: got?.durationMs,
        response: got?.response,
      },
      { status: 'error', code, attempts: 0, ms: 0, response: null },
      id,
    );
  }
  assert.equal(s.hits.length, 0);
});

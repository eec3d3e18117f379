import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, recorder } from './test-support/fixtures.js';

let api: DemoApi;
const scope = fileScope();
before(async () => {
  api = await startDemoApi();
});
after(() => api.close());

type Result = {
  id: string;
  status: string;
  attempts: number;
  error: { code: string } | null;
  response: { status: number; bytes: number } | null;
  failures: Array<{ actual: string }>;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

test('503 + Retry-After is retried after the measured wait', async () => {
  const s = await scope.server((_req, res, n) => {
    if (n === 1) res.writeHead(503, { 'retry-after': '1' }).end();
    else res.end('ok');
  });
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '2'], { input: ndjson([get('f', '/f')]) });
  assert.equal(r.code, 0, r.stderr);
  const [res] = parseLines(r.stdout) as Result[];
  assert.equal(res?.attempts, 2);
  const wait = (s.hits[1]?.at ?? 0) - (s.hits[0]?.at ?? 0);
  assert.ok(wait >= 990 && wait < 2500, `waited ${wait} ms`);
});

test('demo /flaky: 503 then 200 passes on the retry; without retries it is an error', async () => {
  const input = ndjson([get('flaky', '/flaky/k1?fail=1')]);
  const r = await runTool('capi-exec', ['--base-url', api.url], { input });
  assert.equal(byId(r.stdout).get('flaky')?.status, 'passed');
  const none = await runTool('capi-exec', ['--base-url', api.url, '--retries', '0'], {
    input: ndjson([get('flaky', '/flaky/k2?fail=1')]),
  });
  assert.equal(none.code, 1);
  assert.equal(byId(none.stdout).get('flaky')?.error?.code, 'HTTP_503');
});

test('a 429 pauses every lane for Retry-After, then the pace is lower for a while', async () => {
  const s = await scope.server((_req, res, n) => {
    if (n === 40) res.writeHead(429, { 'retry-after': '1' }).end();
    else res.end('ok');
  });
  const input = ndjson(Array.from({ length: 160 }, (_, i) => get(`t${i}`, '/x')));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--rate', '100/s', '--concurrency', '8'], { input });
  assert.equal(r.code, 0, r.stderr);
  const t429 = s.hits[39]?.at as number;
  // Requests the other 7 lanes had sent before the 429 reached them may still land late on a
  // loaded machine (the server's clock is this process's, starved too): at most those 7. A
  // lane that did not pause would send some 70 in this window at 100/s.
  const during = s.hits.filter((h) => h.at > t429 + 200 && h.at < t429 + 950).length;
  assert.ok(during <= 7, `no lane may start while the API asked to wait (${during} requests landed)`);
  const nextSecond = s.hits.filter((h) => h.at >= t429 + 1000 && h.at < t429 + 2000).length;
  assert.ok(nextSecond <= 75, `after the pause the pace is lowered (${nextSecond} in the next second, limit 100/s)`);
  assert.ok(nextSecond >= 10, `but not stopped (${nextSecond})`);
});

test('--max-errors stops early with exit 3 when the API looks down', async () => {
  const input = ndjson(Array.from({ length: 200 }, (_, i) => get(`t${i}`, '/reset')));
  const r = await runTool(
    'capi-exec',
    ['--base-url', api.url, '--retries', '0', '--max-errors', '10%', '--concurrency', '2'],
    {
      input,
    },
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /stopped early: \d+ of \d+ tests errored .*more than --max-errors 10%/);
  const ran = parseLines(r.stdout).length;
  assert.ok(ran >= 20 && ran < 40, `ran ${ran}`);
});

test('timeouts and resets are errors; an oversized body is read up to --max-body and counted whole', async () => {
  const input = ndjson([
    get('slow', '/delay/3000', { timeoutMs: 200 }),
    get('reset', '/reset'),
    get('big', '/bytes/20000000', { expect: { body: 'abc' } }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', api.url, '--retries', '0', '--max-body', '65536'], { input });
  const res = byId(r.stdout);
  assert.equal(res.get('slow')?.error?.code, 'TIMEOUT');
  const slowMs = (res.get('slow') as unknown as { durationMs: number }).durationMs;
  assert.ok(slowMs >= 190 && slowMs < 800, `the timeout cut the slow request after ${slowMs} ms`);
  assert.equal(res.get('reset')?.error?.code, 'ECONNRESET');
  assert.equal(res.get('big')?.status, 'passed');
  assert.equal(res.get('big')?.response?.bytes, 20_000_000);
});

test('TLS: a self-signed certificate is an error (TLS) unless --insecure', async () => {
  const { createServer } = await import('node:https');
  const { TEST_CERT, TEST_KEY } = await import('./test-support/tls-fixture.js');
  const server = createServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.end('secure ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const input = ndjson([get('tls', `https://127.0.0.1:${port}/x`, { expect: { body: 'secure ok' } })]);
    const strict = await runTool('capi-exec', ['--retries', '0'], { input });
    assert.equal(byId(strict.stdout).get('tls')?.error?.code, 'TLS');
    const loose = await runTool('capi-exec', ['--insecure'], { input });
    assert.equal(loose.code, 0, loose.stderr);
    assert.equal(byId(loose.stdout).get('tls')?.status, 'passed');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a target that is not there: exit 3, nothing recorded, so a resume runs every test later', async () => {
  const s = await recorder((_req, res) => res.end());
  await s.close();
  // many lanes at once, each waiting out a retry: no listener-leak warning from Node either
  for (const args of [
    ['--retries', '1'],
    ['--concurrency', '64'],
  ]) {
    const r = await runTool('capi-exec', ['--base-url', s.url, ...args], {
      input: ndjson(Array.from({ length: 80 }, (_, i) => get(`t${i}`, '/x'))),
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /capi-exec: target unreachable: .*ECONNREFUSED.*a resume runs them/);
    assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
  }
});

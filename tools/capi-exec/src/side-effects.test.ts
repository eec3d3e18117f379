import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

// Never repeat a side effect (issue 10): hostile servers count what they received.
const scope = fileScope();

type Result = {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  response: { status: number } | null;
  failures: Array<{ check: string; expected: string; actual: string }>;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

const req = (id: string, method: string, url: string, extra: Record<string, unknown> = {}) => {
  const { headers, ...rest } = extra;
  return { id, request: { method, url, headers: headers ?? {}, body: '{"order":1}' }, ...rest };
};

/** A server that answers by path and counts every request by method and path. */
async function hostile() {
  const seen = new Map<string, number>();
  const s = await scope.server((r, res) => {
    const path = (r.url ?? '').split('?')[0] as string;
    const key = `${r.method} ${path}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    r.resume();
    r.on('end', () => {
      if (path === '/reset') r.socket.destroy();
      else if (path === '/hang')
        return; // never answers: the test's timeout ends it
      else if (path === '/500') res.writeHead(500).end('{"error":"database down"}');
      else if (path === '/after') {
        if ((seen.get(key) ?? 0) === 1) res.writeHead(503, { 'retry-after': '0' }).end();
        else res.end('ok');
      } else if (/^\/5\d\d$/.test(path)) res.writeHead(Number(path.slice(1))).end('upstream trouble');
      else res.end('ok');
    });
  });
  return { ...s, seen };
}

test('POST and PATCH are sent once against 500, 502, 503, 504, resets and timeouts; GET and PUT are retried', async () => {
  const s = await hostile();
  const rows = [];
  for (const path of ['/500', '/502', '/503', '/504', '/reset', '/hang'])
    for (const method of ['POST', 'PATCH', 'GET', 'PUT'])
      rows.push(req(`${method}${path}`, method, path, path === '/hang' ? { timeoutMs: 300 } : {}));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '3', '--concurrency', '4'], {
    input: ndjson(rows),
  });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  for (const path of ['/500', '/502', '/503', '/504', '/reset', '/hang']) {
    for (const method of ['POST', 'PATCH']) {
      assert.equal(s.seen.get(`${method} ${path}`), 1, `${method} ${path} reached the server once`);
      assert.equal(res.get(`${method}${path}`)?.attempts, 1);
    }
    // idempotent methods are retried, except after the API's own answer (a 500)
    const expected = path === '/500' ? 1 : 4;
    assert.equal(s.seen.get(`GET ${path}`), expected, `GET ${path}`);
    assert.equal(s.seen.get(`PUT ${path}`), expected, `PUT ${path}`);
  }
  // a 500 is the API's answer: a failed test with the status and the start of the body
  for (const id of ['POST/500', 'GET/500']) {
    assert.equal(res.get(id)?.status, 'failed');
    assert.deepEqual(res.get(id)?.failures, [
      { check: 'status', expected: '2xx', actual: '500, body: {"error":"database down"}' },
    ]);
  }
  for (const path of ['/502', '/503', '/504']) {
    const post = res.get(`POST${path}`);
    assert.equal(post?.status, 'error');
    assert.equal(post?.error?.code, `HTTP_${path.slice(1)}`);
    assert.match(post?.error?.message ?? '', /not retried: POST is not idempotent and the request may have reached/);
    assert.equal(res.get(`GET${path}`)?.status, 'error');
    assert.equal(res.get(`GET${path}`)?.attempts, 4);
  }
  assert.equal(res.get('PATCH/reset')?.error?.code, 'ECONNRESET');
  assert.match(res.get('PATCH/reset')?.error?.message ?? '', /not retried: PATCH/);
  assert.equal(res.get('POST/hang')?.error?.code, 'TIMEOUT');
});

test('a POST is retried when it never reached the server, when the API says Retry-After, with an Idempotency-Key, or with --retry-unsafe', async () => {
  const s = await hostile();
  const down = await scope.server(() => {});
  await down.close(); // its port now refuses connections
  const input = ndjson([
    req('after', 'POST', '/after'),
    req('keyed', 'POST', '/502', { headers: { 'Idempotency-Key': 'order-1' } }),
    req('refused', 'POST', `${down.url}/orders`),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '2'], { input });
  const res = byId(r.stdout);
  assert.equal(res.get('after')?.status, 'passed', 'a 503 with Retry-After asked for it again');
  assert.equal(s.seen.get('POST /after'), 2);
  assert.equal(s.seen.get('POST /502'), 3, 'an Idempotency-Key makes a POST safe to repeat');
  assert.equal(res.get('refused')?.attempts, 3, 'refused: it never reached the server, so it is retried');
  assert.equal(res.get('refused')?.error?.code, 'ECONNREFUSED');
  // another origin that is down is an ordinary error, not "target unreachable"
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /unreachable/);

  const unsafe = await runTool('capi-exec', ['--base-url', s.url, '--retries', '2', '--retry-unsafe'], {
    input: ndjson([req('u', 'POST', '/504'), req('r', 'POST', '/reset')]),
  });
  assert.equal(unsafe.code, 1);
  assert.equal(s.seen.get('POST /504'), 3);
  assert.equal(s.seen.get('POST /reset'), 3);
});

test('requests that cannot succeed on a retry are not sent at all and say why', async () => {
  const s = await hostile();
  const input = ndjson([
    req('length', 'POST', '/cl', { headers: { 'Content-Length': '99' } }),
    req('expect', 'PUT', '/ex', { headers: { Expect: '100-continue' } }),
    req('bad', 'GET', '/bad', { headers: { 'X-Bad': 'a\u0001b' } }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '3'], { input });
  const res = byId(r.stdout);
  for (const id of ['length', 'expect', 'bad']) {
    assert.equal(res.get(id)?.status, 'error', id);
    assert.equal(res.get(id)?.attempts, 0, id);
    assert.match(res.get(id)?.error?.message ?? '', /refused before it was sent/, id);
  }
  assert.match(res.get('length')?.error?.message ?? '', /a retry cannot succeed: .*content-length/i);
  assert.match(res.get('expect')?.error?.message ?? '', /a retry cannot succeed: expect/);
  assert.equal(s.hits.length, 0, 'nothing reached the server');
});

test('500s are failed tests and never count toward --max-errors; persisting 503s do', async () => {
  const s = await hostile();
  const fails = Array.from({ length: 30 }, (_, i) => req(`f${i}`, 'GET', '/500'));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--max-errors', '0'], { input: ndjson(fails) });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(parseLines(r.stdout).length, 30);
  const down = await runTool('capi-exec', ['--base-url', s.url, '--max-errors', '0', '--retries', '0'], {
    input: ndjson(Array.from({ length: 30 }, (_, i) => req(`e${i}`, 'GET', '/503'))),
  });
  assert.equal(down.code, 3, down.stderr);
  assert.match(down.stderr, /stopped early/);
});

test('a row pointing at a host that is down never makes the batch exit 3, also on resume', async () => {
  const s = await hostile();
  const down = await scope.server(() => {});
  await down.close();
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const suite = join(dir, 'tests.ndjson');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(suite, ndjson([get('elsewhere', `${down.url}/x`), get('a', '/a'), get('b', '/b')]));
  const first = await runTool('capi-exec', [
    '--base-url',
    s.url,
    '--in',
    suite,
    '--journal',
    journal,
    '--retries',
    '0',
  ]);
  assert.equal(first.code, 1, first.stderr);
  assert.equal(byId(first.stdout).get('elsewhere')?.error?.code, 'ECONNREFUSED');
  assert.equal((await readFile(journal, 'utf8')).trim().split('\n').length, 3);
  const again = await runTool('capi-exec', ['--base-url', s.url, '--in', suite, '--journal', journal]);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /resuming: 3 tests/);

  // a batch whose only test points at the down host completes too
  const lone = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], {
    input: ndjson([get('only', `${down.url}/y`)]),
  });
  assert.equal(lone.code, 1, lone.stderr);
  // the base URL's own origin down is still "target unreachable", exit 3, nothing recorded
  const base = await runTool('capi-exec', ['--base-url', down.url, '--retries', '0'], {
    input: ndjson([get('x', '/x'), get('y', `${s.url}/y`)]),
  });
  assert.equal(base.code, 3, base.stderr);
  assert.match(base.stderr, /target unreachable/);
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEBUG_MESSAGE_CHARS, DEBUG_URL_CHARS } from '@capi/core';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';
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

test('a captured value of 60,000 characters in a URL: debug, --trace and error messages cut it', async () => {
  // under the CAPTURE_VALUE_CHARS a capture may take, far over a URL shown
  const big = 'x'.repeat(60_000);
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
  assert.match(use.debug.request.url, /… \(60\d{3} characters\)$/);
  const abs = by.get('abs');
  assert.equal(abs?.error?.code, 'BAD_URL');
  assert.ok((abs?.error?.message.length ?? 0) < DEBUG_MESSAGE_CHARS + 40, `message of ${abs?.error?.message.length}`);
  for (const line of r.stderr.split('\n'))
    assert.ok(line.length < DEBUG_MESSAGE_CHARS + 80, `stderr line of ${line.length}`);
  for (const line of (await readFile(journal, 'utf8')).split('\n'))
    assert.ok(line.length < 4 * DEBUG_MESSAGE_CHARS, `journal line of ${line.length}`);
});

/**
 * A login that hands out numbered tokens, and tests that pass with the newest token only:
 * after `fresh` answers, the token in force is old and every test gets 401. While
 * `hangLogin`, a login is held unanswered (ended when the server closes).
 */
async function expiringApi() {
  const held: ServerResponse[] = [];
  const state = { logins: 0, hangLogin: true, fresh: 3, tests: 0 };
  const server = await scope.server((req, res) => {
    if (req.url === '/login') {
      state.logins++;
      if (state.logins > 1 && state.hangLogin) {
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `token-number-${state.logins}` }));
      return;
    }
    state.tests++;
    const ok = req.headers.authorization === `Bearer token-number-${state.logins}` && state.tests <= state.fresh;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(ok ? '{}' : '{"error":"expired"}');
  });
  const login = {
    id: 'login',
    phase: 'setup',
    request: { method: 'POST', url: '/login' },
    expect: { status: '200' },
    capture: [{ name: 'token', source: 'json:$.token' }],
  };
  const bearer = { request: { headers: { Authorization: 'Bearer {{token}}' } }, expect: { status: '200' } };
  const tests = Array.from({ length: 12 }, (_, i) => get(`t${i}`, `/t/${i}`, bearer));
  const flow = [get('f1', '/f/1', { ...bearer, flow: 'f' }), get('f2', '/f/2', { ...bearer, flow: 'f' })];
  return { server, state, held, records: [login, ...flow, ...tests] };
}

test('a stop during a re-login: the waiting tests are not recorded as 401 failures, and a resume runs them', async () => {
  const { server, state, records } = await expiringApi();
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = join(dir, 'in.ndjson');
  await writeFile(input, ndjson(records));
  const args = ['--in', input, '--base-url', server.url, '--journal', journal, '--concurrency', '3'];
  const run = spawnExec([...args, '--grace', '300']);
  await waitFor(() => state.logins >= 2, 20_000);
  run.child.kill('SIGTERM');
  const r = await run.done;
  assert.equal(r.code, 143, r.stderr);
  const first = results(existsSync(journal) ? readFileSync(journal, 'utf8') : '');
  const unauthorized = first.filter((x) => x.response?.status === 401);
  assert.deepEqual(unauthorized, [], 'no test waiting for the re-login is recorded with its 401');
  assert.ok(first.filter((x) => x.phase === undefined).length < 14, 'the stop came before the end');

  state.hangLogin = false;
  state.fresh = Number.MAX_SAFE_INTEGER;
  const again = await execRun(args);
  assert.equal(again.code, 0, again.stderr);
  const by = lastPerId(results(readFileSync(journal, 'utf8')));
  for (const rec of records.slice(1)) assert.equal(by.get(rec.id as string)?.status, 'passed', String(rec.id));
});

test('expires_in of 0.001, 0, -5, NaN, a text, 1e308: no re-login storm, a warning that never shows the value', async () => {
  const values: unknown[] = [0.001, 0, -5, 'NaN', 'sEcReT-in-the-expiry-field-42', 1e308];
  const runs = values.map(async (expiresIn) => {
    let logins = 0;
    const server = await scope.server((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/login') {
        logins++;
        res.end(JSON.stringify({ token: 'tok-abcdefgh', expires_in: expiresIn }));
      } else setTimeout(() => res.end('{}'), 250);
    });
    const login = {
      id: 'login',
      phase: 'setup',
      request: { method: 'POST', url: '/login' },
      capture: [
        { name: 'token', source: 'json:$.token' },
        { name: 'expires_in', source: 'json:$.expires_in' },
      ],
    };
    const tests = Array.from({ length: 10 }, (_, i) => get(`t${i}`, `/t/${i}`));
    const began = performance.now();
    const r = await execRun(['--base-url', server.url, '--concurrency', '1'], { input: ndjson([login, ...tests]) });
    const seconds = (performance.now() - began) / 1000;
    return { expiresIn, r, logins, seconds };
  });
  for (const { expiresIn, r, logins, seconds } of await Promise.all(runs)) {
    const what = `expires_in ${JSON.stringify(expiresIn)}`;
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    // At most one login a second (the floor), plus the first one.
    assert.ok(logins <= Math.ceil(seconds) + 1, `${what}: ${logins} logins in ${seconds.toFixed(1)} s`);
    if (expiresIn !== 1e308) assert.match(r.stderr, /warning: the setup capture expires_in /, what);
    assert.doesNotMatch(r.stderr, /sEcReT|tok-abc/, what);
    assert.equal((r.stderr.match(/warning: the setup capture expires_in/g) ?? []).length <= 1, true, what);
  }
});

test('a failed teardown row fails the run: exit 1 though every test passed; the summary says so', async () => {
  const server = await scope.server((req, res) => {
    res.writeHead(req.url === '/logout' ? 500 : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const dir = await scope.scratch();
  const status = join(dir, 'status.json');
  const bye = get('bye', '/logout', { phase: 'teardown' });
  const r = await execRun(['--base-url', server.url, '--status', status], {
    input: ndjson([get('t1', '/a'), get('t2', '/b'), bye]),
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /2 passed, 0 failed, 0 errors.*1 teardown row failed/);
  const by = lastPerId(results(r.stdout));
  assert.equal(by.get('bye')?.status, 'failed');
  assert.equal(by.get('bye')?.phase, 'teardown');
  const beat = JSON.parse(readFileSync(status, 'utf8')) as { teardownFailed?: number; failed: number };
  assert.deepEqual([beat.failed, beat.teardownFailed], [0, 1], 'capi-watch reads it from the heartbeat');
  const ok = await execRun(['--base-url', server.url], {
    input: ndjson([get('t1', '/a'), get('bye', '/a', { phase: 'teardown' })]),
  });
  assert.equal(ok.code, 0, ok.stderr);
});

test('a capture from a huge answer: a value over 64 KiB fails the row and stops its flow, nothing huge is sent', async () => {
  const big = 'y'.repeat(5_000_000);
  const server = await scope.server((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/make' ? JSON.stringify({ id: big }) : '{}');
  });
  const records = [
    get('make', '/make', { flow: 'f', capture: [{ name: 'item', source: 'json:$.id' }] }),
    get('use', '/items/{{item}}', { flow: 'f' }),
  ];
  const r = await execRun(['--base-url', server.url, '--max-body', '10000000'], { input: ndjson(records) });
  assert.equal(r.code, 1, r.stderr);
  const by = lastPerId(results(r.stdout));
  assert.equal(by.get('make')?.failures[0]?.check, 'capture');
  assert.match(by.get('make')?.failures[0]?.actual ?? '', /the value has 5000000 characters, over the 65536/);
  assert.equal(by.get('use')?.error?.code, 'FLOW_STOPPED');
  assert.equal(server.hits.length, 1, 'the row that would carry it is never sent');
  assert.ok(r.stdout.length < 100_000, `stdout of ${r.stdout.length}`);
});

test('a setup token used in a URL path and query, echoed back, quoted by BAD_URL or a reset: redacted everywhere', async () => {
  const token = 'Zq9 tok/en+é=secret&x';
  const server = await scope.server((req, res) => {
    if (req.url === '/login') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token }));
      return;
    }
    if (req.url?.startsWith('/reset/')) {
      req.socket.destroy();
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain', 'x-echo': req.url ?? '' });
    res.end(`no such thing: ${req.url} (${decodeURIComponent(req.url ?? '')})`);
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const login = {
    id: 'login',
    phase: 'setup',
    request: { method: 'POST', url: '/login' },
    capture: [{ name: 'grant', source: 'json:$.token' }],
  };
  const records = [
    login,
    get('path', '/t/{{grant}}?q={{grant}}'),
    get('abs', 'http://[{{grant}}]/x'),
    get('reset', '/reset/{{grant}}'),
  ];
  const r = await execRun(['--base-url', server.url, '--journal', journal, '--trace', 'failed', '--retries', '0'], {
    input: ndjson(records),
  });
  assert.equal(r.code, 1, r.stderr);
  const by = lastPerId(results(r.stdout));
  assert.deepEqual(
    ['path', 'abs', 'reset'].map((id) => by.get(id)?.status),
    ['failed', 'error', 'error'],
  );
  const written = `${r.stdout}\n${r.stderr}\n${readFileSync(journal, 'utf8')}`;
  const forms = [token, encodeURIComponent(token), encodeURI(token), token.replaceAll(' ', '%20')];
  for (const form of forms)
    for (let i = 0; i + 8 <= form.length; i++)
      assert.equal(written.includes(form.slice(i, i + 8)), false, `${JSON.stringify(form.slice(i, i + 8))} written`);
  assert.match(written, /\[redacted\]/);
});

test('a teardown row that meets an expired token logs in again and passes: the run passes', async () => {
  let logins = 0;
  const server = await scope.server((req, res) => {
    if (req.url === '/login') {
      logins++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `token-number-${logins}` }));
      return;
    }
    // the first token expires once the tests are done: the teardown row meets it expired
    const valid = req.headers.authorization === `Bearer token-number-${logins}` && (logins > 1 || req.url !== '/bye');
    res.writeHead(valid ? 200 : 401, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const login = {
    id: 'login',
    phase: 'setup',
    request: { method: 'POST', url: '/login' },
    capture: [{ name: 'token', source: 'json:$.token' }],
  };
  const bearer = { request: { headers: { Authorization: 'Bearer {{token}}' } }, expect: { status: '200' } };
  const records = [
    login,
    get('t1', '/t/1', bearer),
    get('t2', '/t/2', bearer),
    get('bye', '/bye', { ...bearer, phase: 'teardown' }),
  ];
  const r = await execRun(['--base-url', server.url, '--concurrency', '1'], { input: ndjson(records) });
  assert.equal(r.code, 0, r.stderr);
  const bye = lastPerId(results(r.stdout)).get('bye');
  assert.deepEqual([bye?.status, bye?.attempts], ['passed', 2]);
  assert.equal(logins, 2);
});

test('a re-login that never answers ends at --timeout: a setup failure (exit 3), the rest SETUP_FAILED, no hang', async () => {
  const { server, state, records } = await expiringApi();
  const r = await execRun(['--base-url', server.url, '--concurrency', '2', '--timeout', '500', '--retries', '0'], {
    input: ndjson(records),
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 3, r.stderr);
  // The re-login was sent before capi-exec exited, but on a loaded machine this process may
  // see the child's exit before the server's handler has read that request (seen once in
  // CI: 1 login counted): give the handler a bounded moment, then count exactly.
  await waitFor(() => state.logins >= 2, 5_000).catch(() => {});
  assert.equal(state.logins, 2, 'one re-login, not one per lane');
  const rs = results(r.stdout);
  const setupFailed = rs.filter((x) => x.error?.code === 'SETUP_FAILED');
  assert.ok(setupFailed.length > 0, 'the tests not sent get SETUP_FAILED');
  const login = rs.filter((x) => x.phase === 'setup');
  assert.deepEqual(
    login.map((x) => x.error?.code ?? x.status),
    ['passed', 'TIMEOUT'],
  );
  const by = lastPerId(rs);
  for (const rec of records.slice(1)) assert.ok(by.has(rec.id as string), `${String(rec.id)} has a result`);
});

test('an API that answers 401 even to the token it just issued: at most one login a second, each test tried twice', async () => {
  let logins = 0;
  const server = await scope.server((req, res) => {
    if (req.url === '/login') logins++;
    res.writeHead(req.url === '/login' ? 200 : 401, { 'content-type': 'application/json' });
    res.end(req.url === '/login' ? '{"token":"always-refused-token"}' : '{}');
  });
  const login = {
    id: 'login',
    phase: 'setup',
    request: { method: 'POST', url: '/login' },
    capture: [{ name: 'token', source: 'json:$.token' }],
  };
  const tests = Array.from({ length: 8 }, (_, i) => get(`t${i}`, `/t/${i}`, { expect: { status: '200' } }));
  const began = performance.now();
  const r = await execRun(['--base-url', server.url, '--concurrency', '4'], { input: ndjson([login, ...tests]) });
  const seconds = (performance.now() - began) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.ok(logins <= Math.ceil(seconds) + 1, `${logins} logins in ${seconds.toFixed(1)} s`);
  const by = lastPerId(results(r.stdout));
  for (const t of tests)
    assert.deepEqual([by.get(t.id as string)?.response?.status, by.get(t.id as string)?.attempts], [401, 2]);
});

test('a stop during the first login: no test and no teardown row is sent or recorded; exit 143', async () => {
  const held: ServerResponse[] = [];
  const server = await scope.server((req, res) => {
    if (req.url === '/login') held.push(res);
    else res.end('{}');
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = join(dir, 'in.ndjson');
  const login = {
    id: 'login',
    phase: 'setup',
    request: { method: 'POST', url: '/login' },
    capture: [{ name: 'token', source: 'json:$.token' }],
  };
  const bearer = { request: { headers: { Authorization: 'Bearer {{token}}' } } };
  await writeFile(
    input,
    ndjson([login, get('t1', '/t/1', bearer), get('bye', '/bye', { ...bearer, phase: 'teardown' })]),
  );
  const run = spawnExec(['--in', input, '--base-url', server.url, '--journal', journal, '--grace', '300']);
  await waitFor(() => held.length > 0, 20_000);
  run.child.kill('SIGTERM');
  const r = await run.done;
  assert.equal(r.code, 143, r.stderr);
  assert.deepEqual(results(existsSync(journal) ? readFileSync(journal, 'utf8') : ''), []);
  assert.deepEqual(
    server.hits.map((h) => h.path),
    ['/login'],
  );
});

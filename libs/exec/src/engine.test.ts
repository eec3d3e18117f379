import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { monotonicMs, normalizeTestRecord, type TestRecord } from '@capi/core';
import { type EngineOptions, runTests } from './engine.js';
import { createLiveState } from './live-state.js';
import { createRateLimiter } from './rate-limiter.js';
import { type ExecResult, makeResult } from './result.js';
import { parseBaseUrl } from './target.js';
import { type FixtureServer, serve } from './test-support/fixture-server.js';

const servers: FixtureServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

function rec(id: string, url: string, extra: Record<string, unknown> = {}): TestRecord {
  return normalizeTestRecord({ id, request: { method: 'GET', url }, ...extra }, 0);
}

/** The records in chunks of three, as the run's reader hands them on (a chunk at a time). */
async function* from(records: TestRecord[]): AsyncGenerator<TestRecord[]> {
  for (let i = 0; i < records.length; i += 3) yield records.slice(i, i + 3);
}

function options(url: string, over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    base: parseBaseUrl(url),
    headers: {},
    headerAllOrigins: false,
    env: {},
    allowEnv: { names: new Set(['KEY']), prefixes: [] },
    runVars: {},
    retryUnsafe: false,
    concurrency: 4,
    rate: null,
    delayMs: 0,
    timeoutMs: 5000,
    maxBody: 1024,
    insecure: false,
    retries: 2,
    maxErrors: null,
    graceMs: 1000,
    batch: 'b1',
    worker: 2,
    runId: 'r1',
    shard: null,
    ...over,
  };
}

async function run(records: TestRecord[], opts: EngineOptions) {
  const results: ExecResult[] = [];
  const shared = {
    live: createLiveState(opts.concurrency),
    limiter: createRateLimiter(opts.rate, undefined, opts.maxPauseMs),
  };
  const summary = await runTests(
    from(records),
    opts,
    (r) => {
      results.push(r);
    },
    shared,
  );
  return { summary, results, byId: new Map(results.map((r) => [r.id, r])) };
}

test('the in-flight window holds: never more than --concurrency requests at once', async () => {
  let now = 0;
  let peak = 0;
  const s = await serve((_req, res) => {
    now++;
    peak = Math.max(peak, now);
    setTimeout(() => {
      now--;
      res.end('ok');
    }, 15);
  });
  servers.push(s);
  const { summary, results } = await run(
    Array.from({ length: 30 }, (_, i) => rec(`t${i}`, '/x')),
    options(s.url, { concurrency: 4 }),
  );
  assert.equal(summary.passed, 30);
  assert.equal(peak, 4);
  assert.equal(results[0]?.batch, 'b1');
  assert.equal(results[0]?.worker, 2);
});

test('503 with Retry-After is retried after the wait; a 404 failure is never retried', async () => {
  const hits = new Map<string, number[]>();
  const s = await serve((req, res) => {
    const list = hits.get(req.url as string) ?? [];
    list.push(performance.now());
    hits.set(req.url as string, list);
    if (req.url === '/flaky' && list.length === 1) {
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
    } else if (req.url === '/missing') {
      res.writeHead(404);
      res.end();
    } else res.end('fine');
  });
  servers.push(s);
  const { byId } = await run([rec('f', '/flaky'), rec('m', '/missing')], options(s.url));
  assert.equal(byId.get('f')?.status, 'passed');
  assert.equal(byId.get('f')?.attempts, 2);
  const [a, b] = hits.get('/flaky') as number[];
  assert.ok((b as number) - (a as number) >= 990, `waited ${(b as number) - (a as number)} ms`);
  assert.equal(byId.get('m')?.status, 'failed');
  assert.equal(hits.get('/missing')?.length, 1);
});

test('500 is the API answer: a failed test showing the body, never retried; 502 is retried, then an error', async () => {
  let count = 0;
  const s = await serve((req, res) => {
    count++;
    res.writeHead(req.url === '/gw' ? 502 : 500);
    res.end('boom: database down');
  });
  servers.push(s);
  const { byId } = await run(
    [rec('e', '/a'), rec('p', '/b', { expect: { status: '500' } }), rec('g', '/gw')],
    options(s.url, { retries: 1 }),
  );
  assert.equal(byId.get('e')?.status, 'failed');
  assert.deepEqual(byId.get('e')?.failures, [
    { check: 'status', expected: '2xx', actual: '500, body: boom: database down' },
  ]);
  assert.equal(byId.get('e')?.attempts, 1);
  assert.equal(byId.get('p')?.status, 'passed');
  assert.equal(byId.get('g')?.status, 'error');
  assert.equal(byId.get('g')?.error?.code, 'HTTP_502');
  assert.equal(byId.get('g')?.attempts, 2);
  assert.equal(count, 4);
});

test('a target that refuses before it ever answered stops the run, recording nothing', async () => {
  const s = await serve((_req, res) => res.end());
  await s.close();
  const { summary, results } = await run(
    Array.from({ length: 50 }, (_, i) => rec(`t${i}`, '/x')),
    options(s.url, { retries: 0, concurrency: 2 }),
  );
  assert.equal(summary.stoppedBy, 'unreachable');
  assert.match(summary.reason ?? '', /target unreachable: .*ECONNREFUSED/);
  assert.equal(results.length, 0);
  assert.ok(summary.cut >= 1 && summary.cut <= 2);
});

test('max errors stops the run early; resets are errors', async () => {
  const s = await serve((req) => req.socket.destroy());
  servers.push(s);
  const { summary } = await run(
    Array.from({ length: 50 }, (_, i) => rec(`t${i}`, '/x')),
    options(s.url, { retries: 0, concurrency: 2, maxErrors: { count: 3, percent: null } }),
  );
  assert.equal(summary.stoppedBy, 'max-errors');
  assert.ok(summary.errors >= 4 && summary.errors <= 6, `errors ${summary.errors}`);
  assert.match(summary.reason ?? '', /more than --max-errors 3/);
});

test('a stop lets in-flight tests finish within the grace, then cuts the rest', async () => {
  const s = await serve((req, res) => {
    setTimeout(() => res.end('done'), req.url === '/slow' ? 5000 : 50);
  });
  servers.push(s);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 20);
  const t0 = performance.now();
  const { summary, byId } = await run(
    [rec('fast', '/fast'), rec('slow', '/slow'), rec('never', '/fast')],
    options(s.url, { concurrency: 2, stop: stop.signal, graceMs: 300 }),
  );
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(summary.stoppedBy, 'stop');
  assert.equal(byId.get('fast')?.status, 'passed');
  assert.equal(byId.has('slow'), false);
  assert.equal(byId.has('never'), false);
  assert.equal(summary.cut, 1);
});

test('timeouts, resets and oversized bodies', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/hang') setTimeout(() => res.end('late'), 3000);
    else if (req.url === '/reset') req.socket.destroy();
    else res.end(`${'a'.repeat(5000)}tail`);
  });
  servers.push(s);
  const { byId } = await run(
    [
      rec('t', '/hang', { timeoutMs: 100 }),
      rec('r', '/reset'),
      rec('big', '/big', { expect: { body: 'tail' } }),
      rec('bigok', '/big', { expect: { body: 'aaa' } }),
    ],
    options(s.url, { retries: 0, maxBody: 1024 }),
  );
  assert.equal(byId.get('t')?.error?.code, 'TIMEOUT');
  assert.equal(byId.get('r')?.error?.code, 'ECONNRESET');
  assert.equal(byId.get('big')?.status, 'failed');
  assert.equal(byId.get('big')?.response?.bytes, 5004);
  assert.match(byId.get('big')?.failures[0]?.actual ?? '', /cut at --max-body/);
  assert.equal(byId.get('bigok')?.status, 'passed');
});

test('env values and credential headers never reach a result', async () => {
  const s = await serve((req, res) => res.end(JSON.stringify(req.headers)));
  servers.push(s);
  const { byId } = await run(
    [
      rec('a', '/?k={{env.KEY}}', { expect: { body: 'nope' } }),
      rec('b', '/', {
        request: { method: 'GET', url: '/', headers: { 'X-Api-Key': 'literal-key-9' } },
        expect: { body: 'nope' },
      }),
      rec('c', '/{{nothere}}'),
    ],
    options(s.url, { env: { KEY: 'hunter2-secret' }, headers: { authorization: 'Bearer {{env.KEY}}' } }),
  );
  const text = JSON.stringify([...byId.values()]);
  assert.equal(text.includes('hunter2-secret'), false);
  assert.equal(text.includes('literal-key-9'), false);
  assert.match(text, /\[redacted\]/);
  assert.equal(byId.get('c')?.error?.code, 'TEMPLATE');
});

test('after retries, startedAt is the start of the final attempt: startedAt + durationMs is the real end', async () => {
  const seen: number[] = [];
  const s = await serve((_req, res) => {
    seen.push(Date.now());
    if (seen.length === 1) {
      res.statusCode = 503;
      res.setHeader('retry-after', '1');
      res.end('busy');
    } else setTimeout(() => res.end('ok'), 30);
  });
  servers.push(s);
  const { results } = await run([rec('r', '/r')], options(s.url));
  const ended = Date.now();
  const r = results[0] as ExecResult;
  assert.equal(r.status, 'passed');
  assert.equal(r.attempts, 2);
  const started = Date.parse(r.startedAt);
  assert.ok(started >= (seen[0] as number) + 900, `startedAt ${started - (seen[0] as number)} ms after the first try`);
  assert.ok(started <= (seen[1] as number), 'the final attempt started before the server saw it');
  assert.ok(r.durationMs >= 25 && r.durationMs < 1000, `durationMs ${r.durationMs}`);
  assert.ok(Math.abs(started + r.durationMs - ended) < 150, 'startedAt + durationMs is the end');
});

test('startedAt is the ISO time of each result, also when many share a millisecond', () => {
  const o = { status: 'passed' as const, attempts: 1, durationMs: 1, response: null, failures: [], error: null };
  const origin = { batch: null, worker: null, runId: null, shard: null };
  const r = rec('x', '/x');
  for (const ms of [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_600_000_000_000])
    assert.equal(makeResult(r, { ...o, startedAt: ms }, origin).startedAt, new Date(ms).toISOString());
});

test('a bad expectation is found before sending: BAD_EXPECT with attempts 0, like TEMPLATE; the API sees nothing', async () => {
  let count = 0;
  const s = await serve((_req, res) => {
    count++;
    res.end('ok');
  });
  servers.push(s);
  // Input validation refuses these when written literally; templates or library callers can still make them.
  const bad = (id: string, expect: Partial<TestRecord['expect']>) => {
    const r = rec(id, '/a');
    Object.assign(r.expect, expect);
    return r;
  };
  const { byId } = await run(
    [
      bad('status', { status: '2xy' }),
      bad('regex', { body: '/[/' }),
      bad('json', { json: '{bad' }),
      rec('tmpl', '/{{nope}}'),
      rec('ok', '/a', { expect: { json: '{"x":1}' } }),
    ],
    options(s.url, { retries: 2 }),
  );
  for (const id of ['status', 'regex', 'json', 'tmpl']) {
    const r = byId.get(id);
    assert.deepEqual(
      [r?.status, r?.error?.code, r?.attempts, r?.durationMs, r?.response],
      ['error', id === 'tmpl' ? 'TEMPLATE' : 'BAD_EXPECT', 0, 0, null],
      id,
    );
  }
  assert.equal(byId.get('ok')?.status, 'failed', 'a body that is not JSON fails the json check');
  assert.equal(count, 1);
});

test('--delay: none after the last test, a flow`s last row too (its end reported, for --serve); kept between a flow`s rows', async () => {
  const s = await serve((_req, res) => res.end('ok'));
  servers.push(s);
  const timed = async (records: TestRecord[], over: Partial<EngineOptions>) => {
    const began = performance.now();
    const { summary } = await run(records, options(s.url, { delayMs: 1500, ...over }));
    assert.equal(summary.passed, records.length);
    return performance.now() - began;
  };
  // two plain tests in two lanes: neither lane starts another test, so no pause is owed
  const plain = [rec('a', '/x'), rec('b', '/y')];
  const alone = await timed(plain, {});
  assert.ok(alone < 1000, `the run ended ${Math.round(alone)} ms after it began (a whole --delay after the last test)`);
  // the pause not paid is reported: --serve pays it before a next batch, if one comes
  const { summary } = await run(plain, options(s.url, { delayMs: 1500 }));
  const owed = (summary.pauseOwedUntil ?? 0) - monotonicMs();
  assert.ok(owed > 1000 && owed <= 1500, `the pause owed ends ${Math.round(owed)} ms from the run's end`);
  // a flow's rows: the pause between them stays; after its last row, none (no test follows)
  const flow = [rec('f1', '/x', { flow: 'f' }), rec('f2', '/y', { flow: 'f' })];
  const flowed = await timed(flow, {});
  assert.ok(flowed >= 1400 && flowed < 2500, `a flow of two rows: ${Math.round(flowed)} ms (one pause)`);
});

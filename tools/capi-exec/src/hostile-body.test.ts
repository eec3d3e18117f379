import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

/**
 * Bodies and suites that once froze or crashed capi-exec: regexes that backtrack
 * catastrophically on what the API sends, JSON nested 20,000 levels deep (in the suite and
 * in the answer), and a --max-body beyond what a string can hold.
 */
const scope = fileScope();

type Result = {
  id: string;
  status: string;
  attempts: number;
  failures: Array<{ check: string; expected: string; actual: string }>;
  error: { code: string; message: string } | null;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

const EVIL = `${'a'.repeat(40)}!`;

test('catastrophic body regexes never block: linear ones fail plainly, the others fail as out of time', async () => {
  const s = await scope.server((req, res) => res.end(req.url === '/big' ? `${'a'.repeat(100_000)}!` : EVIL));
  const linear = ['/^(a+)+$/', '/^(a|aa)+$/', '/^(a*)*b$/s'];
  const backtracking = ['/^(a|a)+$/i', '/^(a+)+$/u', '/^(\\w+\\s?)*$/u', '/^(a*)*\\1$/', '/^((a+)\\2?)+$/'];
  const fine = ['/A{40}!/i', '/(a)\\1/'];
  const tests = [...linear, ...backtracking, ...fine].map((body, i) => get(`r${i}`, '/x', { expect: { body } }));
  // A body over 16 KiB goes to the worker whatever the pattern: linear time is no bound there.
  tests.push(get('big-evil', '/big', { expect: { body: '/^(a+)+$/' } }));
  tests.push(get('big-fine', '/big', { expect: { body: '/a{10}!$/' } }));
  const dir = await scope.scratch();
  const status = join(dir, 'status.json');
  const began = performance.now();
  const p = spawnExec(['--base-url', s.url, '--concurrency', '4', '--status', status], { input: ndjson(tests) });
  // The heartbeat goes on while regexes run: updatedAt keeps moving.
  const stamps = new Set<string>();
  await waitFor(() => {
    void readFile(status, 'utf8')
      .then((t) => stamps.add(JSON.parse(t).updatedAt))
      .catch(() => {});
    return stamps.size >= 3;
  }, 30_000);
  const r = await p.done;
  const ms = performance.now() - began;
  assert.equal(r.code, 1, r.stderr);
  const results = byId(r.stdout);
  linear.forEach((body, i) => {
    const res = results.get(`r${i}`);
    assert.equal(res?.status, 'failed', body);
    assert.equal(res?.failures[0]?.actual, EVIL, body);
  });
  backtracking.forEach((body, k) => {
    const res = results.get(`r${linear.length + k}`);
    assert.equal(res?.status, 'failed', body);
    assert.match(res?.failures[0]?.actual ?? '', /not decided: the regular expression ran longer than 2000 ms/, body);
  });
  fine.forEach((body, k) => {
    assert.equal(results.get(`r${linear.length + backtracking.length + k}`)?.status, 'passed', body);
  });
  // In the worker V8's linear fallback may decide it within the deadline, or not: bounded either way.
  assert.equal(results.get('big-evil')?.status, 'failed');
  assert.match(
    results.get('big-evil')?.failures[0]?.actual ?? '',
    /^(not decided: .* body of 100001 characters|a{200}…)/,
  );
  assert.equal(results.get('big-fine')?.status, 'passed');
  // Six stopped regexes of 2 s each, one after another, plus start-up on a loaded machine.
  assert.ok(ms < 45_000, `${ms} ms`);
});

test('SIGTERM during a runaway regex: the process answers at once and exits within --grace', async () => {
  const s = await scope.server((_req, res) => res.end(EVIL));
  const tests = Array.from({ length: 6 }, (_, i) => get(`r${i}`, '/x', { expect: { body: '/^(a|a)+$/i' } }));
  const p = spawnExec(['--base-url', s.url, '--concurrency', '6', '--grace', '1000'], { input: ndjson(tests) });
  await waitFor(() => s.hits.length === 6, 20_000);
  const sent = performance.now();
  p.child.kill('SIGTERM');
  const r = await p.done;
  const took = performance.now() - sent;
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /SIGTERM: taking no new tests/);
  assert.ok(took < 6000, `exited ${took} ms after SIGTERM`);
});

const deep = (n: number, leaf = '1') => '['.repeat(n) + leaf + ']'.repeat(n);

test('expect.json nested 20,000 levels is bad input (exit 2), in capi-exec and capi-split alike', async () => {
  const rec = get('deep', '/x', { expect: { json: deep(20_000) } });
  const r = await runTool('capi-exec', ['--base-url', 'http://127.0.0.1:9'], { input: ndjson([rec]) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /<stdin>:1: .*field "expect\.json": JSON nested more than 100 levels deep/);
  assert.equal(r.stdout, '');
  const split = await runTool('capi-split', ['-'], { input: ndjson([rec]) });
  assert.equal(split.code, 2, split.stderr);
  assert.match(split.stderr, /expect\.json.*JSON nested more than 100 levels deep/);
  const dir = await scope.scratch();
  const csv = join(dir, 'suite.csv');
  await writeFile(csv, `id,method,url,expect_json\nok,GET,/x,"${deep(100)}"\ndeep,GET,/x,"${deep(101)}"\n`);
  const cells = await runTool('capi-split', [csv]);
  assert.equal(cells.code, 2, cells.stderr);
  assert.match(cells.stderr, /suite\.csv:3: .*expect_json.*nested more than 100 levels deep/);
  // A regex longer than the limit is refused by both too.
  const long = get('long', '/x', { expect: { body: `/${'a'.repeat(5000)}/` } });
  for (const tool of ['capi-exec', 'capi-split']) {
    const t = await runTool(tool, tool === 'capi-exec' ? ['--base-url', 'http://127.0.0.1:9'] : ['-'], {
      input: ndjson([long]),
    });
    assert.equal(t.code, 2, `${tool}: ${t.stderr}`);
    assert.match(t.stderr, /regular expression of 5002 characters, more than the 4096 allowed/, tool);
  }
});

test('answers nested 20,000 levels deep are judged without a crash', async () => {
  const body = `{"a":${deep(20_000)},"b":${deep(20_000, '{"c":1}')}}`;
  const s = await scope.server((_req, res) => res.setHeader('content-type', 'application/json').end(body));
  const tests = [
    get('mismatch-deep', '/x', { expect: { json: '{"a":1}' } }),
    get('match-prefix', '/x', { expect: { json: '{"a":[[[[]]]]}' } }),
    get('walk-down', '/x', { expect: { json: `{"b":${deep(99, '2')}}` } }),
    get('missing', '/x', { expect: { json: '{"z":{"y":1}}' } }),
    get('regex', '/x', { expect: { body: '/\\]{20000}/' } }),
  ];
  const r = await runTool('capi-exec', ['--base-url', s.url], { input: ndjson(tests) });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  assert.equal(res.get('mismatch-deep')?.status, 'failed');
  assert.match(res.get('mismatch-deep')?.failures[0]?.actual ?? '', /^\$\.a = \[… nested too deeply to show\]$/);
  assert.equal(res.get('match-prefix')?.status, 'passed');
  assert.equal(res.get('walk-down')?.status, 'failed');
  assert.match(res.get('walk-down')?.failures[0]?.actual ?? '', /^\$\.b(\[0\])+[[0]*… \(\d+ chars\)$/);
  assert.equal(res.get('missing')?.failures[0]?.actual, '$.z missing');
  assert.equal(res.get('regex')?.status, 'passed');
});

test('--max-body has an upper bound: above it exit 2 with the reason; at it the run goes', async () => {
  for (const big of ['268435457', '9007199254740991', '99999999999999999999']) {
    const r = await runTool('capi-exec', ['--max-body', big], { input: '' });
    assert.equal(r.code, 2, big);
    assert.match(r.stderr, /--max-body takes (at most 268435456 bytes \(256 MiB\)|a whole number)/, big);
  }
  const s = await scope.server((_req, res) => res.end('x'.repeat(3000)));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--max-body', '268435456'], {
    input: ndjson([get('a', '/x', { expect: { body: 'xxx' } })]),
  });
  assert.equal(r.code, 0, r.stderr);
});

test('capi-split refuses a row capi-exec could not read back (a line over 64 MiB once escaped)', async () => {
  const dir = await scope.scratch();
  const csv = join(dir, 'suite.csv');
  // 11 Mi control characters are 66 Mi characters as JSON (\u0001 each): over the line limit.
  await writeFile(csv, `id,method,url,body\nsmall,POST,/x,hello\nhuge,POST,/x,${'\u0001'.repeat(11 * 1024 * 1024)}\n`);
  const r = await runTool('capi-split', [csv], { timeoutMs: 120_000 });
  assert.equal(r.code, 2, r.stderr.slice(0, 300));
  assert.match(
    r.stderr,
    /suite\.csv:3: the test is \d+ characters as an NDJSON line, more than the 67108864 capi-exec reads/,
  );
});

test("response headers past node's limit (16 KiB) are an error; node's --max-http-header-size still raises it", async () => {
  // The bundle reads node's limit without loading node:http (scripts/esbuild-options.mjs):
  // both ways of setting it must still reach undici.
  const s = await scope.server((req, res) => {
    res.setHeader('x-big', 'h'.repeat(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'))));
    res.end('ok');
  });
  const input = ndjson([get('under', '/x?n=15000', { expect: { status: '200' } }), get('over', '/x?n=17000')]);
  const plain = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], { input });
  assert.equal(plain.code, 1, plain.stderr);
  const results = byId(plain.stdout);
  assert.equal(results.get('under')?.status, 'passed');
  assert.equal(results.get('over')?.status, 'error');
  assert.deepEqual(results.get('over')?.error, {
    code: 'BAD_RESPONSE',
    message:
      "response headers over 16384 bytes in all (node's limit: NODE_OPTIONS=--max-http-header-size=BYTES raises it)",
  });
  const raised = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], {
    input,
    env: { NODE_OPTIONS: '--max-http-header-size=65536' },
  });
  assert.equal(raised.code, 0, raised.stderr);
  assert.deepEqual(
    [...byId(raised.stdout).values()].map((r) => r.status),
    ['passed', 'passed'],
  );
  // The same server sends the same headers again: not retried, whatever the method, and says so.
  const hits = new Map<string, number>();
  const counted = await scope.server((req, res) => {
    hits.set(req.method ?? '', (hits.get(req.method ?? '') ?? 0) + 1);
    res.setHeader('x-big', 'h'.repeat(17000));
    res.end('ok');
  });
  const again = await runTool('capi-exec', ['--base-url', counted.url, '--retries', '2'], {
    input: ndjson([get('get-over', '/x'), { id: 'put-over', request: { method: 'PUT', url: '/x', body: 'b' } }]),
  });
  assert.equal(again.code, 1, again.stderr);
  for (const r of byId(again.stdout).values()) {
    assert.equal(r.error?.code, 'BAD_RESPONSE', r.id);
    assert.equal(r.attempts, 1, r.id);
    assert.match(
      r.error?.message ?? '',
      /raises it\) \(not retried: the same request gets the same answer from this server\)$/,
    );
  }
  assert.deepEqual(Object.fromEntries(hits), { GET: 1, PUT: 1 });
  // node's other spelling of the same flag (`_` for `-`) raises it too
  const underscored = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], {
    input,
    env: { NODE_OPTIONS: '--max_http_header_size=65536' },
  });
  assert.equal(underscored.code, 0, underscored.stderr);
});

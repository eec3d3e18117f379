import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { fileScope, get, ndjson } from './fixtures.js';
import { crudFlow, execRun, filesUnder, lastPerId, loginRow, results } from './flow-suites.js';

// Flows (issue 13, docs/capi-exec.md "Flows"): captures, lanes, stops, setup and secrets,
// against the demo API and a loopback server of the test's own.
const scope = fileScope();
let api: DemoApi;
const tokens: string[] = [];
before(async () => {
  api = await startDemoApi({ onTokenIssued: (t) => tokens.push(t) });
});
after(() => api.close());

test('captures of each kind feed later rows of the flow; one that finds nothing fails and stops the flow', async () => {
  const server = await scope.server((req, res) => {
    if (req.url === '/make') {
      res.writeHead(201, { 'content-type': 'application/json', etag: '"v7"' });
      res.end('{"item":{"ids":[11,22]},"note":"code=abc-9;"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url }));
  });
  const capture = [
    { name: 'second', source: 'json:$.item.ids[1]' },
    { name: 'etag', source: 'header:ETag' },
    { name: 'code', source: 'status' },
    { name: 'text', source: 'body:/code=([a-z0-9-]+);/' },
  ];
  const records = [
    get('make', '/make', { flow: 'f', capture, expect: { status: '201' } }),
    get('use', '/use/{{second}}/{{etag}}/{{code}}/{{text}}', {
      flow: 'f',
      expect: { json: JSON.stringify({ url: '/use/22/%22v7%22/201/abc-9' }) },
    }),
    get('miss', '/make', { flow: 'g', capture: [{ name: 'x', source: "json:$['gone']" }], expect: { status: '201' } }),
    get('after-miss', '/use/{{x}}', { flow: 'g' }),
    get('miss-header', '/make', { capture: [{ name: 'h', source: 'header:X-None' }], expect: { status: '201' } }),
  ];
  const r = await execRun(['--base-url', server.url], { input: ndjson(records) });
  assert.equal(r.code, 1, r.stderr);
  const by = lastPerId(results(r.stdout));
  assert.equal(by.get('make')?.status, 'passed');
  assert.equal(by.get('use')?.status, 'passed', JSON.stringify(by.get('use')));
  assert.deepEqual(by.get('miss')?.failures, [
    { check: 'capture', expected: "x from json:$['gone']", actual: 'no such path in the response' },
  ]);
  assert.deepEqual(by.get('after-miss')?.error, {
    code: 'FLOW_STOPPED',
    message: 'not sent: row miss of flow g failed',
  });
  assert.equal(by.get('after-miss')?.attempts, 0);
  assert.equal(by.get('after-miss')?.flow, 'g');
  assert.equal(by.get('miss-header')?.failures[0]?.actual, 'no header X-None in the response');
  assert.equal(server.hits.filter((h) => h.path.startsWith('/use/{')).length, 0, 'a stopped row is never sent');
});

test('flows run in parallel lanes, each one row at a time, and never see each other values', async () => {
  const inFlight = new Map<string, number>();
  const seen: Array<{ flow: string; url: string }> = [];
  let most = 0;
  let now = 0;
  let overlapped = false;
  const server = await scope.server((req, res) => {
    const flow = String(req.headers['x-flow']);
    seen.push({ flow, url: req.url ?? '' });
    const mine = (inFlight.get(flow) ?? 0) + 1;
    inFlight.set(flow, mine);
    if (mine > 1) overlapped = true;
    most = Math.max(most, ++now);
    setTimeout(() => {
      inFlight.set(flow, (inFlight.get(flow) ?? 1) - 1);
      now--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `${flow}:${req.url}` }));
    }, 15);
  });
  // Interleaved input (every flow's first row, then every second row…): lanes keep each flow in order.
  const records: Record<string, unknown>[] = [];
  for (let step = 0; step < 3; step++)
    for (let f = 0; f < 12; f++)
      records.push(
        get(`flow-${f}-${step}`, step === 0 ? '/start' : '/step/{{v}}', {
          flow: `flow-${f}`,
          request: { headers: { 'x-flow': `flow-${f}` } },
          capture: [{ name: 'v', source: 'json:$.token' }],
        }),
      );
  const out = await execRun(['--base-url', server.url, '--concurrency', '6'], { input: ndjson(records) });
  assert.equal(out.code, 0, out.stderr + out.stdout.slice(0, 500));
  assert.equal(overlapped, false, 'two rows of one flow were in flight at once');
  assert.ok(most > 1, `flows ran one at a time (at most ${most} in flight)`);
  const steps = seen.filter((s) => s.url.startsWith('/step/'));
  assert.equal(steps.length, 24);
  // Every later row carried a value its own flow captured, never another flow's.
  for (const s of steps) assert.ok(s.url.startsWith(`/step/${s.flow}:`), `${s.flow} sent ${s.url}`);
  assert.ok(steps.some((s) => s.url === `/step/${s.flow}:/step/${s.flow}:/start`));
});

test('CRUD flows against the demo API: a login as setup, ids captured per flow, a teardown after', async () => {
  const flows = Array.from({ length: 20 }, (_, i) => crudFlow(`item-${i}`)).flat();
  const records = [
    loginRow(),
    ...flows,
    get('list', '/secure/items', {
      phase: 'teardown',
      request: { headers: { Authorization: 'Bearer {{access_token}}' } },
    }),
  ];
  const r = await execRun(['--base-url', api.url, '--concurrency', '8'], { input: ndjson(records) });
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 800));
  const rs = results(r.stdout);
  assert.equal(rs.filter((x) => x.phase === undefined && x.status === 'passed').length, 80);
  assert.deepEqual(
    rs.filter((x) => x.phase).map((x) => [x.id, x.phase, x.status]),
    [
      ['login', 'setup', 'passed'],
      ['list', 'teardown', 'passed'],
    ],
  );
  assert.equal(rs.at(-1)?.id, 'list', 'teardown runs last');
  assert.match(r.stderr, /80 ran, 80 passed/);
});

test('a setup that fails sends nothing else: SETUP_FAILED results and exit 3', async () => {
  const before = api.stats().byRoute['POST /secure/items'] ?? 0;
  const badLogin = loginRow(false, {
    request: {
      ...(loginRow().request as object),
      body: 'grant_type=client_credentials&client_id=demo-client&client_secret=wrong-secret',
    },
  });
  const records = [badLogin, ...crudFlow('x'), get('plain', '/health'), get('bye', '/health', { phase: 'teardown' })];
  const r = await execRun(['--base-url', api.url], { input: ndjson(records) });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /setup failed: setup row login failed/);
  const rs = results(r.stdout);
  assert.equal(rs[0]?.id, 'login');
  assert.equal(rs[0]?.status, 'failed');
  for (const x of rs.slice(1)) {
    assert.equal(x.error?.code, 'SETUP_FAILED', x.id);
    assert.equal(x.error?.message, 'not sent: setup row login failed');
    assert.equal(x.attempts, 0);
  }
  assert.equal(rs.length, 7);
  assert.equal(api.stats().byRoute['POST /secure/items'] ?? 0, before, 'no test was sent');
});

test('no setup-captured token reaches any file, stdout, stderr or trace, even from an API that echoes it', async () => {
  const dir = await scope.scratch();
  tokens.length = 0;
  const echo = get('echo', '/echo', {
    request: { headers: { Authorization: 'Bearer {{access_token}}', 'x-copy': 'token={{access_token}}' } },
    expect: { status: '500', body: 'never' },
  });
  const records = [loginRow(), echo, ...crudFlow('s')];
  const input = join(dir, 'in.ndjson');
  await writeFile(input, ndjson(records));
  const args = [
    '--in',
    input,
    '--base-url',
    api.url,
    '--journal',
    join(dir, 'j.ndjson'),
    '--status',
    join(dir, 'hb.json'),
  ];
  const r = await execRun([...args, '--trace', 'failed', '--trace', 'login']);
  assert.equal(r.code, 1, r.stderr);
  await writeFile(join(dir, 'stdout.ndjson'), r.stdout);
  await writeFile(join(dir, 'stderr.txt'), r.stderr);
  assert.ok(tokens.length >= 1, 'the API issued a token');
  const echoed = lastPerId(results(r.stdout)).get('echo');
  assert.match(JSON.stringify(echoed), /\[redacted\]/, 'the echoed body is shown, redacted');
  for (const f of await filesUnder(dir))
    for (const t of tokens) assert.equal(f.text.includes(t), false, `${f.path} holds a token`);
  // The flow's own id is shown: it is what a person debugging the flow needs.
  assert.match(r.stderr + r.stdout, /s-create/);
});

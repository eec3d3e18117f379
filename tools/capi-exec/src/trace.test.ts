import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { binPath, collect, repoRoot, testEnv } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec } from './test-support/fixtures.js';

const scope = fileScope();
const SECRET = 'tok-9f8e7d6c5b4a';
const ENV_SECRET = 'env-secret-31415';

/** /ok answers 200; /gone 404 with a long body that echoes the secret, a cookie and an escape. */
async function api() {
  return scope.server((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.url?.startsWith('/ok')) {
        res.setHeader('x-served-by', 'ok-route');
        res.end('fine');
        return;
      }
      if (req.url?.startsWith('/slow')) return; // never answers: a timeout
      res.writeHead(req.url?.startsWith('/boom') ? 503 : 404, {
        'content-type': 'text/plain; charset=utf-8',
        'set-cookie': 'sid=cookie-value-77',
        'x-session-token': 'header-token-88',
        'x-request-id': 'rid-42',
      });
      res.end(`\u001b[31mnot found: ${body} echo=${req.headers.authorization ?? 'none'} ünï\n${'z'.repeat(9000)}`);
    });
  });
}

const suite = ndjson([
  get('T-pass', '/ok/1', { tags: ['smoke'] }),
  {
    id: 'T-fail',
    request: {
      method: 'POST',
      url: `/gone?key={{env.CAPI_API_KEY}}`,
      headers: { Authorization: `Bearer ${SECRET}` },
      body: '{"n":1}',
    },
    expect: { status: '200' },
    tags: ['crud'],
  },
  get('T-other', '/ok/2'),
  get('T-err', '/boom'),
]);

function story(stderr: string, id: string): string {
  const start = stderr.indexOf(`* ${id} `);
  assert.ok(start >= 0, `no story of ${id} in stderr:\n${stderr}`);
  const next = stderr.indexOf('\n* T-', start + 1);
  return stderr.slice(start, next < 0 ? undefined : next);
}

test('--trace ID and tag:NAME print the request as sent and the response on stderr, stdout stays results', async () => {
  const s = await api();
  const r = await spawnExec(['--base-url', s.url, '--trace', 'T-fail', '--trace', 'tag:smoke', '--retries', '0'], {
    input: suite,
    env: { CAPI_API_KEY: ENV_SECRET },
  }).done;
  assert.equal(r.code, 1, r.stderr);
  // stdout is only result records.
  const results = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(results.map((x) => x.id).sort(), ['T-err', 'T-fail', 'T-other', 'T-pass']);
  assert.doesNotMatch(r.stdout, /^[*<>]/m);
  const fail = story(r.stderr, 'T-fail');
  assert.match(fail, /^\* T-fail T-fail: failed \(1 attempt, /);
  assert.match(fail, new RegExp(`\\n> POST ${s.url.replace(/[.]/g, '\\.')}/gone\\?key=\\[redacted\\]\\n`));
  assert.match(fail, /\n> Authorization: \[redacted\]\n/);
  assert.match(fail, /\n> content-type: application\/json\n/);
  assert.match(fail, /\n> \{"n":1\}\n/);
  assert.match(fail, /\n< 404\n/);
  assert.match(fail, /\n< set-cookie: \[redacted\]\n/);
  assert.match(fail, /\n< x-session-token: \[redacted\]\n/);
  assert.match(fail, /\n< x-request-id: rid-42\n/);
  // The body as text, the escape made visible, the secret the server echoed redacted, UTF-8 kept.
  assert.match(fail, /\n< \\x1b\[31mnot found: \{"n":1\} echo=\[redacted\] ünï\n/);
  assert.match(fail, /\* failed status: expected 200, got 404/);
  // Traced by tag even though it passed; T-other is named by nothing and T-err only fails.
  assert.match(story(r.stderr, 'T-pass'), /\n< 200\n< x-served-by: ok-route\n[\s\S]*\n<\n< fine/);
  assert.doesNotMatch(r.stderr, /\* T-other |\* T-err /);
  for (const secret of [SECRET, ENV_SECRET, 'cookie-value-77', 'header-token-88'])
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), `${secret} leaked`);
  assert.ok(!r.stderr.includes('\u001b'), 'an escape from the server reached the terminal');
});

test('--trace failed prints every failed and error test, and only those', async () => {
  const s = await api();
  const r = await spawnExec(['--base-url', s.url, '--trace', 'failed', '--retries', '1'], {
    input: suite,
    env: { CAPI_API_KEY: ENV_SECRET },
  }).done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(story(r.stderr, 'T-fail'), /< 404/);
  const err = story(r.stderr, 'T-err');
  assert.match(err, /^\* T-err T-err: error \(2 attempts, /);
  assert.match(err, /\n< 503\n/);
  assert.match(err, /\* error HTTP_503: the API answered 503/);
  assert.doesNotMatch(r.stderr, /\* T-pass |\* T-other /);
});

test('the journal keeps a redacted debug part for failed and error tests only, and capi-merge --show tells the same story', async () => {
  const s = await api();
  const dir = await scope.scratch();
  const journal = join(dir, 'results.ndjson');
  const traced = await spawnExec(['--base-url', s.url, '--journal', journal, '--trace', 'failed', '--retries', '0'], {
    input: ndjson([
      ...suite
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      // Only this test times out (its own timeout): a loaded machine must not time out the others.
      get('T-slow', '/slow', { timeoutMs: 300 }),
    ]),
    env: { CAPI_API_KEY: ENV_SECRET },
  }).done;
  assert.equal(traced.code, 1, traced.stderr);
  const text = await readFile(journal, 'utf8');
  for (const secret of [SECRET, ENV_SECRET, 'cookie-value-77', 'header-token-88'])
    assert.ok(!text.includes(secret), `${secret} reached the journal`);
  const byId = new Map(
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((x) => [x.id, x]),
  );
  assert.equal(byId.get('T-pass').debug, undefined);
  assert.equal(byId.get('T-other').debug, undefined);
  const d = byId.get('T-fail').debug;
  assert.equal(d.request.method, 'POST');
  assert.deepEqual(d.request.headers[0], ['Authorization', '[redacted]']);
  assert.equal(d.response.status, 404);
  assert.equal(d.response.bodyCut, true);
  assert.ok(d.response.bodyBytes > 9000);
  assert.ok(Buffer.byteLength(d.response.body) <= 4096, 'the kept body is bounded');
  assert.ok(d.response.body.startsWith('\u001b[31mnot found'), 'the journal keeps the body as decoded text');
  assert.equal(byId.get('T-err').debug.response.status, 503);
  // A timeout: the request, no response.
  const slow = byId.get('T-slow');
  assert.equal(slow.status, 'error');
  assert.equal(slow.debug.response, null);
  assert.equal(slow.debug.request.url, `${s.url}/slow`);

  const show = (id: string, ...inputs: string[]) => {
    const child = spawn(process.execPath, [binPath('capi-merge'), '--show', id, ...inputs], {
      cwd: repoRoot,
      env: testEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return collect(child, { timeoutMs: 30_000 });
  };
  const shown = await show('T-fail', journal);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stderr, '');
  // The same story as the trace up to the response body (4 KiB of it kept in the journal, more when traced).
  const prefix = (t: string) => t.slice(0, t.indexOf('\n<\n'));
  const traceStory = story(traced.stderr, 'T-fail');
  assert.ok(prefix(shown.stdout).length > 0);
  assert.equal(prefix(shown.stdout), prefix(traceStory));
  assert.equal(shown.stdout.trimEnd().split('\n').at(-1), traceStory.trimEnd().split('\n').at(-1));
  assert.match(shown.stdout, /\n\* \(body cut here: \d+ bytes in all\)\n/);
  const slowShown = await show('T-slow', dir);
  assert.equal(slowShown.code, 0, slowShown.stderr);
  assert.match(slowShown.stdout, /\n> GET .*\/slow\n\* no response\n\* error TIMEOUT: /);
  const passed = await show('T-pass', journal);
  assert.equal(passed.code, 0);
  assert.match(passed.stdout, /^\* T-pass T-pass: passed .*\n\* no request or response kept/);
  // capi-merge's reports read journals with debug parts as before, and the merged stream leaves them out.
  const merged = spawn(
    process.execPath,
    [
      binPath('capi-merge'),
      journal,
      '--ndjson',
      '--quiet',
      '--output-json',
      join(dir, 'r.json'),
      '--output-csv',
      join(dir, 'r.csv'),
      '--output-report',
      join(dir, 'r.txt'),
    ],
    {
      cwd: repoRoot,
      env: testEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const m = await collect(merged, { timeoutMs: 30_000 });
  assert.equal(m.code, 1, m.stderr);
  const records = m.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(records.length, 5);
  assert.ok(records.every((x) => !('debug' in x)));
  const none = await show('T-nope', journal);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^capi-merge: --show T-nope: no result for this id in the inputs\n$/);
});

test('--trace with an empty value is a usage error', async () => {
  const r = await spawnExec(['--trace', 'tag:'], { input: '' }).done;
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--trace takes an id, tag:NAME or failed/);
});

// docs/capi-exec.md, "Debug one test: --trace": its example, run as printed against a server
// that answers as its example does (a raw socket, so no header is added that the docs leave
// out), is what capi-exec prints, line for line but the time taken and the clock.
test("the --trace example of docs/capi-exec.md is capi-exec's own output", async () => {
  const doc = await readFile(join(repoRoot, 'docs/capi-exec.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Debug one test: --trace'));
  const block = (/\n```\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '').split('\n');
  const command = (block.shift() ?? '').replace(/^\$ /, '');
  assert.match(command, /^capi-exec .*--trace T0042/);
  const server = createNetServer((socket) => {
    socket.once('data', () =>
      socket.end(
        'HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: application/json\r\nset-cookie: sid=cookie-9f8e7d6c\r\n\r\n{"error":"name too short"}',
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = await scope.scratch();
    const record = {
      id: 'T0042',
      name: 'create item',
      request: {
        method: 'POST',
        url: '/items?key={{env.CAPI_API_KEY}}',
        headers: { Authorization: 'Bearer {{env.CAPI_TOKEN}}' },
        body: '{"name":"x"}',
      },
      expect: { status: '201' },
    };
    await writeFile(join(dir, 'tests.ndjson'), `${JSON.stringify(record)}\n`);
    const child = spawn('bash', ['-o', 'pipefail', '-c', command.replaceAll('http://localhost:8080', url)], {
      cwd: dir,
      env: testEnv({
        PATH: `${join(repoRoot, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}`,
        CAPI_API_KEY: 'key-27182818',
        CAPI_TOKEN: 'token-16180339',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = await collect(child, { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    const story = r.stderr.split('\n').filter((l) => /^[*<>]/.test(l));
    const want = block.map((l) => l.replaceAll('http://localhost:8080', url));
    // the time taken and the clock are this run's
    const clock = /^(\* T0042 create item: failed \(1 attempt, )[\d.]+ ms, [\dT:.Z-]+\)$/;
    assert.match(want[0] as string, clock);
    assert.match(story[0] as string, clock);
    assert.deepEqual(story.slice(1), want.slice(1), r.stderr);
  } finally {
    server.close();
  }
});

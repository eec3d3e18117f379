import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, waitFor } from './test-support/fixtures.js';

/** Compressed answers: checks see the decoded body, --max-body bounds the decoded size. */
const scope = fileScope();

type Result = {
  id: string;
  status: string;
  attempts: number;
  response: { status: number; bytes: number; decodedBytes?: number } | null;
  failures: Array<{ check: string; actual: string }>;
  error: { code: string; message: string } | null;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

const JSON_BODY = JSON.stringify({ ok: true, items: [{ name: 'zipped' }], pad: 'x'.repeat(2000) });
const raw = Buffer.from(JSON_BODY);
const ENCODED: Record<string, [string, Buffer]> = {
  '/gzip': ['gzip', gzipSync(raw)],
  '/x-gzip': ['x-gzip', gzipSync(raw)],
  '/deflate': ['deflate', deflateSync(raw)],
  '/br': ['br', brotliCompressSync(raw)],
  '/stacked': ['gzip, br', brotliCompressSync(gzipSync(raw))],
  '/upper': ['GZIP', gzipSync(raw)],
  '/identity': ['identity', raw],
  '/corrupt': ['gzip', Buffer.concat([gzipSync(raw).subarray(0, 10), Buffer.from('not gzip at all')])],
  '/truncated': ['gzip', gzipSync(raw).subarray(0, 40)],
  '/unknown': ['zstd', raw],
  '/unknown-503': ['zstd', raw],
  '/unknown-429': ['zstd', raw],
  // 64 MiB of zeros in about 64 KB: a bomb for --max-body 1 MiB.
  '/bomb': ['gzip', gzipSync(Buffer.alloc(64 * 1024 * 1024))],
};

async function encodingServer() {
  const seen: Array<string | undefined> = [];
  const s = await scope.server((req, res) => {
    seen.push(req.headers['accept-encoding']);
    const hit = ENCODED[req.url ?? ''];
    if (!hit) return void res.end(JSON_BODY);
    res
      .writeHead(req.url === '/unknown-503' ? 503 : req.url === '/unknown-429' ? 429 : 200, {
        'content-type': 'application/json',
        'content-encoding': hit[0],
      })
      .end(hit[1]);
  });
  return { ...s, seen };
}

test('checks see the decoded body of gzip, x-gzip, deflate, br and stacked encodings; both sizes recorded', async () => {
  const s = await encodingServer();
  const paths = ['/gzip', '/x-gzip', '/deflate', '/br', '/stacked', '/upper', '/identity'];
  const tests = paths.map((p) =>
    get(p.slice(1), p, { expect: { json: '{"ok":true,"items":[{"name":"zipped"}]}', body: '/"name":"zipped"/' } }),
  );
  const r = await runTool('capi-exec', ['--base-url', s.url], { input: ndjson(tests) });
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const res = byId(r.stdout);
  for (const p of paths) {
    const one = res.get(p.slice(1));
    assert.equal(one?.status, 'passed', p);
    assert.equal(one?.response?.bytes, (ENCODED[p] as [string, Buffer])[1].length, p);
    if (p === '/identity') assert.equal(one?.response?.decodedBytes, undefined);
    else assert.equal(one?.response?.decodedBytes, raw.length, p);
  }
});

test('a corrupt, truncated or unknown encoding is an error that says so', async () => {
  const s = await encodingServer();
  const tests = ['/corrupt', '/truncated', '/unknown'].map((p) => get(p.slice(1), p, { expect: { body: 'zipped' } }));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], { input: ndjson(tests) });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  for (const id of ['corrupt', 'truncated']) {
    assert.equal(res.get(id)?.status, 'error', id);
    assert.equal(res.get(id)?.error?.code, 'BAD_ENCODING', id);
    assert.match(
      res.get(id)?.error?.message ?? '',
      /answered 200 with a corrupt compressed body \(Content-Encoding: gzip\)/,
    );
  }
  assert.match(res.get('unknown')?.error?.message ?? '', /encoded as "zstd".*cannot decode/);
  // A test that reads no body is not held up by an encoding it need not decode.
  const plain = await runTool('capi-exec', ['--base-url', s.url], { input: ndjson([get('status-only', '/corrupt')]) });
  assert.equal(plain.code, 0, plain.stderr);
});

test('an unknown encoding is not retried (the server sends it again); a corrupt body, or a gateway page, is', async () => {
  const s = await encodingServer();
  const tests = ['/unknown', '/corrupt', '/unknown-503', '/unknown-429'].map((p) =>
    get(p.slice(1), p, { expect: { body: 'zipped' } }),
  );
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '2'], { input: ndjson(tests) });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  assert.equal(res.get('unknown')?.attempts, 1);
  assert.match(
    res.get('unknown')?.error?.message ?? '',
    /\(not retried: the same request gets the same answer from this server\)$/,
  );
  assert.equal(res.get('corrupt')?.attempts, 3);
  // a 503 in an unknown coding: a gateway's page, not the API's make-up
  assert.equal(res.get('unknown-503')?.attempts, 3);
  // a 429 too: a rate limit's page, as docs/capi-exec.md says
  assert.equal(res.get('unknown-429')?.attempts, 3);
  assert.equal(s.seen.length, 10);
});

test('a compression bomb stays within --max-body and says so', async () => {
  const s = await encodingServer();
  const r = await runTool('capi-exec', ['--base-url', s.url, '--max-body', '100000'], {
    input: ndjson([
      get('bomb', '/bomb', { expect: { body: 'never there' } }),
      get('bomb-json', '/bomb', { expect: { json: '{}' } }),
    ]),
  });
  assert.equal(r.code, 1, r.stderr);
  const bomb = byId(r.stdout).get('bomb');
  assert.equal(bomb?.status, 'failed');
  assert.equal(bomb?.response?.bytes, (ENCODED['/bomb'] as [string, Buffer])[1].length);
  const decoded = bomb?.response?.decodedBytes ?? 0;
  assert.ok(decoded > 100_000 && decoded < 4 * 1024 * 1024, `decoding stopped soon after the cap (${decoded})`);
  assert.match(bomb?.failures[0]?.actual ?? '', /decoded body cut at --max-body/);
  assert.match(byId(r.stdout).get('bomb-json')?.failures[0]?.actual ?? '', /body cut at --max-body, not whole JSON/);
});

test('--compressed asks for compression; a test of its own Accept-Encoding wins; none without it', async () => {
  const s = await encodingServer();
  const tests = [get('asks', '/plain'), get('own', '/plain', { request: { headers: { 'ACCEPT-ENCODING': 'br' } } })];
  const r = await runTool('capi-exec', ['--base-url', s.url, '--compressed', '--concurrency', '1'], {
    input: ndjson(tests),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(s.seen, ['gzip, deflate, br', 'br']);
  const plain = await runTool('capi-exec', ['--base-url', s.url], { input: ndjson([get('no', '/plain')]) });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(s.seen[2], undefined);
});

/** Debian's python3-httpbin under gunicorn: a real third-party server (skipped when not installed). */
const HAS_HTTPBIN =
  spawnSync('/usr/bin/python3', ['-c', 'import httpbin, gunicorn'], { stdio: 'ignore' }).status === 0
    ? null
    : 'python3-httpbin and gunicorn are not installed (apt-get install python3-httpbin gunicorn)';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let gunicorn: ChildProcess | null = null;
after(async () => {
  // SIGTERM: gunicorn stops its workers, then itself (SIGKILL would orphan the workers).
  const g = gunicorn;
  if (!g || g.exitCode !== null || g.signalCode !== null) return;
  const exited = once(g, 'exit');
  g.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
  if (g.exitCode === null && g.signalCode === null) g.kill('SIGKILL');
});

test('against httpbin (gunicorn): /gzip, /deflate and /brotli are judged by their decoded JSON', {
  skip: HAS_HTTPBIN ?? false,
}, async () => {
  const port = await freePort();
  gunicorn = spawn('/usr/bin/python3', ['-m', 'gunicorn', '-b', `127.0.0.1:${port}`, 'httpbin:app'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  gunicorn.stderr?.on('data', (d) => {
    log += d;
  });
  await waitFor(() => /Listening at/.test(log) && /Booting worker/.test(log), 30_000);
  const base = `http://127.0.0.1:${port}`;
  const tests = [
    get('gzip', '/gzip', { expect: { json: '{"gzipped":true,"method":"GET"}' } }),
    get('deflate', '/deflate', { expect: { json: '{"deflated":true}' } }),
    get('brotli', '/brotli', { expect: { json: '{"brotli":true}', body: '/"brotli": ?true/' } }),
  ];
  const r = await runTool('capi-exec', ['--base-url', base, '--compressed'], {
    input: ndjson(tests),
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  for (const res of byId(r.stdout).values()) {
    assert.equal(res.status, 'passed', res.id);
    assert.ok((res.response?.decodedBytes ?? 0) > (res.response?.bytes ?? 0), `${res.id}: decoded is larger`);
  }
});

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { NO_HEADERS, pickHeaders } from './exchange.js';
import { createHttpClient, maxHeaderSize, RequestError } from './http-client.js';

/** A loopback server that counts connections and the most requests it held at once. */
async function countingServer(delayMs: number) {
  let connections = 0;
  let open = 0;
  let most = 0;
  const server = createServer((_req, res) => {
    open++;
    most = Math.max(most, open);
    setTimeout(() => {
      open--;
      res.setHeader('x-ratelimit-remaining', '5');
      res.setHeader('content-type', 'text/plain');
      res.end('hello');
    }, delayMs);
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stats: () => ({ connections, most }),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const request = (origin: string, i: number) => ({
  origin,
  path: `/items/${i}`,
  method: 'GET',
  headers: {},
  body: null,
  timeoutMs: 5000,
  keepText: true,
});

test('connections never outnumber the requests in flight, and every lane has its own', async () => {
  const s = await countingServer(5);
  const client = createHttpClient({ connections: null, insecure: false, maxBody: 1024 });
  try {
    const lanes = 8;
    let next = 0;
    const lane = async () => {
      while (next < 240) {
        const a = await client.send(request(s.origin, next++));
        assert.equal(a.status, 200);
        assert.equal(a.text, 'hello');
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    const { connections, most } = s.stats();
    // An undici Agent opened up to twice as many (a reused socket counts as busy for a
    // turn of the event loop, so its pool connects anew).
    assert.ok(connections <= lanes, `${connections} connections for ${lanes} lanes`);
    assert.equal(most, lanes, 'the server saw the whole window in flight');
  } finally {
    await client.close();
    await s.close();
  }
});

test('only the headers capi reads are decoded; a short timeout is timed to the ms', async () => {
  const s = await countingServer(300);
  const client = createHttpClient({ connections: null, insecure: false, maxBody: 1024 });
  try {
    const a = await client.send(request(s.origin, 1));
    assert.deepEqual(a.headers, { 'x-ratelimit-remaining': '5' });
    const t = performance.now();
    await assert.rejects(client.send({ ...request(s.origin, 2), timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof RequestError);
      assert.equal(err.code, 'TIMEOUT');
      return true;
    });
    const waited = performance.now() - t;
    assert.ok(waited >= 95 && waited < 280, `timed out after ${waited} ms`);
    // The connection of the timed-out request is not reused for a stale answer.
    const b = await client.send(request(s.origin, 3));
    assert.equal(b.status, 200);
  } finally {
    await client.close();
    await s.close();
  }
});

test('a request undici refuses before sending is BAD_URL or BAD_HEADER, marked as never sent', async () => {
  const s = await countingServer(0);
  const client = createHttpClient({ connections: null, insecure: false, maxBody: 1024 });
  try {
    const refused = async (req: ReturnType<typeof request>, code: string) =>
      assert.rejects(client.send(req), (err: unknown) => {
        assert.ok(err instanceof RequestError);
        assert.equal(err.code, code);
        assert.equal(err.sent, false);
        assert.match(err.message, /^the request was refused before it was sent: invalid/);
        return true;
      });
    await refused({ ...request(s.origin, 1), path: '/a b' }, 'BAD_URL');
    await refused({ ...request(s.origin, 2), headers: { 'x-a': 'one\ntwo' } }, 'BAD_HEADER');
    assert.equal(s.stats().connections, 0, 'nothing reached the server');
    const ok = await client.send(request(s.origin, 3));
    assert.equal(ok.status, 200, 'the client is still usable');
  } finally {
    await client.close();
    await s.close();
  }
});

test('pickHeaders: only the headers capi reads, lower case; none of them is the one shared empty set', () => {
  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p));
  const picked = pickHeaders(raw('Content-Type', 'text/plain', 'RateLimit-Remaining', '5', 'Retry-After', '2'));
  assert.deepEqual({ ...picked }, { 'ratelimit-remaining': '5', 'retry-after': '2' });
  assert.notEqual(picked, NO_HEADERS);
  assert.equal(pickHeaders(raw('Content-Type', 'text/plain', 'Content-Length', '2')), NO_HEADERS);
  assert.equal(pickHeaders(null), NO_HEADERS);
  assert.ok(Object.isFrozen(NO_HEADERS));
  assert.deepEqual(Object.keys(NO_HEADERS), []);
});

test("maxHeaderSize: node's default 16 KiB, unless node runs with --max-http-header-size (then node's own value)", () => {
  assert.equal(maxHeaderSize([], ''), 16_384);
  assert.equal(maxHeaderSize(['--enable-source-maps'], '--max-old-space-size=100'), 16_384);
  assert.equal(maxHeaderSize(['--max-http-header-size=65536'], ''), undefined);
  assert.equal(maxHeaderSize([], '--max-http-header-size=65536'), undefined);
  assert.equal(maxHeaderSize([], '--trace-warnings --max-http-header-size 8192'), undefined);
  // node takes `_` for `-` in a flag's name: the same flag, node's value is not 16 KiB
  assert.equal(maxHeaderSize(['--max_http_header_size=65536'], ''), undefined);
  assert.equal(maxHeaderSize([], '--max_http_header_size=65536'), undefined);
  assert.equal(maxHeaderSize([], '"--max-http_header-size=65536"'), undefined);
  // what node itself uses when nothing sets it
  assert.equal(
    maxHeaderSize([], ''),
    (process.getBuiltinModule('node:http') as typeof import('node:http')).maxHeaderSize,
  );
});

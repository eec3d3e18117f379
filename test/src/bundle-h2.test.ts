import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '@capi/testkit';

const run = promisify(execFile);

// The tools' bundles take undici's Client in, with its HTTP/2 side loaded only on the first
// connection that negotiates h2 (scripts/esbuild-options.mjs), so that a run does not load
// node:http2 for nothing. capi-exec never asks for h2; this proves the lazily loaded side
// still works when a Client does, bundled with the same options: h2c to a loopback server.
const ENTRY = `import Client from 'undici/lib/dispatcher/client.js';
const loaded = () => process.moduleLoadList.includes('NativeModule http2');
const before = loaded();
const client = new Client(process.argv[2], { allowH2: true, useH2c: true });
const answer = await new Promise((resolve, reject) => {
  let status = 0;
  let body = '';
  client.dispatch({ path: '/h2', method: 'GET' }, {
    onRequestStart() {},
    onResponseStart(_c, code) { status = code; },
    onResponseData(_c, chunk) { body += chunk; },
    onResponseEnd() { resolve({ status, body }); },
    onResponseError(_c, err) { reject(err); },
  });
});
await client.close();
console.log(JSON.stringify({ before, ...answer, after: loaded() }));
`;

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: Http2Server;
let url: string;

before(async () => {
  dir = await tempDir('capi-bundle-h2-');
  server = createServer((req, res) => {
    res.end(`over ${req.httpVersion}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  await dir?.cleanup();
});

test("undici's HTTP/2 side, bundled as the tools bundle it, is loaded on the first h2 connection and works", async () => {
  const options = await import(pathToFileURL(join(repoRoot, 'scripts', 'esbuild-options.mjs')).href);
  const { build } = await import('esbuild');
  const entry = join(dir.path, 'h2-entry.js');
  await writeFile(entry, ENTRY);
  const out = join(dir.path, 'out');
  await build({ ...options.bundleOptions({ 'h2-entry': entry }, out), nodePaths: [join(repoRoot, 'node_modules')] });
  // the bundle is an ES module: a package.json beside it says so
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  const { stdout } = await run(process.execPath, [join(out, 'h2-entry.js'), url], { cwd: dir.path, timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), { before: false, status: 200, body: 'over 2.0', after: true });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '@capi/testkit';

const run = promisify(execFile);

// The tools' bundles give undici a node:assert that loads the real one only when an
// invariant fails, and patch two of its files so that node:http is read at first use
// (scripts/esbuild-options.mjs). These build small bundles with the same options over a
// stand-in `node_modules/undici/lib` and run them.
let dir: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  dir = await tempDir('capi-bundle-undici-');
});
after(async () => {
  await dir?.cleanup();
});

/** Bundles `entry` (its own files under a stand-in undici) with the tools' options; the build's errors, or the output file. */
async function bundle(name: string, files: Record<string, string>, entry: string) {
  const base = join(dir.path, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(base, 'node_modules', 'undici', 'lib', path, '..'), { recursive: true });
    await writeFile(join(base, 'node_modules', 'undici', 'lib', path), text);
  }
  await writeFile(join(base, 'entry.js'), entry);
  const options = await import(pathToFileURL(join(repoRoot, 'scripts', 'esbuild-options.mjs')).href);
  const { build } = await import('esbuild');
  const out = join(base, 'out');
  try {
    await build({ ...options.bundleOptions({ entry: join(base, 'entry.js') }, out), logLevel: 'silent' });
  } catch (err) {
    return { errors: (err as { errors: Array<{ text: string }> }).errors.map((e) => e.text).join('\n'), out: '' };
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  return { errors: '', out: join(out, 'entry.js') };
}

test("undici's assert(value) passes without loading node:assert and fails with node's AssertionError", async () => {
  const b = await bundle(
    'assert',
    { 'probe.js': "const assert = require('node:assert')\nmodule.exports = (v) => assert(v, 'the probe')\n" },
    `import probe from 'undici/lib/probe.js';
const loaded = () => process.moduleLoadList.includes('NativeModule assert');
probe(1);
const before = loaded();
let error = null;
try { probe(0); } catch (err) { error = { name: err.name, code: err.code, message: err.message }; }
console.log(JSON.stringify({ before, error }));
`,
  );
  assert.equal(b.errors, '');
  const { stdout } = await run(process.execPath, [b.out], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), {
    before: false,
    error: { name: 'AssertionError', code: 'ERR_ASSERTION', message: 'the probe' },
  });
});

test("an undici invariant without a message fails quoting undici's call, as node's assert does, not the shim's", async () => {
  const b = await bundle(
    'quote',
    { 'probe.js': "const assert = require('node:assert')\nmodule.exports = (request) => assert(request)\n" },
    `import probe from 'undici/lib/probe.js';
try { probe(null); } catch (err) { console.log(JSON.stringify({ name: err.name, generated: err.generatedMessage, message: err.message })); }
`,
  );
  assert.equal(b.errors, '');
  const { stdout } = await run(process.execPath, [b.out], { timeout: 30_000 });
  // what node:assert itself says of that call
  assert.deepEqual(JSON.parse(stdout), {
    name: 'AssertionError',
    generated: true,
    message: 'The expression evaluated to a falsy value:\n\n  assert(request)\n',
  });
});

test('an undici file that uses more of node:assert, or a patch that no longer matches, fails the build', async () => {
  const more = await bundle(
    'more',
    { 'probe.js': "const assert = require('node:assert')\nmodule.exports = (v) => assert.equal(v, 1)\n" },
    "import 'undici/lib/probe.js';\n",
  );
  assert.match(more.errors, /probe\.js: uses more of node:assert than assert\(value\)/);
  const changed = await bundle(
    'changed',
    { 'core/util.js': "const http = require('node:http')\nmodule.exports = http.IncomingMessage\n" },
    "import 'undici/lib/core/util.js';\n",
  );
  assert.match(changed.errors, /util\.js: a patch no longer matches exactly once: const \{ IncomingMessage \}/);
});

// undici destroys its socket after every `Connection: close` answer (and on a timeout, or when
// the server closes an idle connection): core/util.js's destroy must not load node:http to
// see that a socket is no IncomingMessage, and must still treat a real one as undici does.
const CLOSE_ENTRY = `import Client from 'undici/lib/dispatcher/client.js';
import util from 'undici/lib/core/util.js';
const loaded = () => process.moduleLoadList.includes('NativeModule http');
const client = new Client(process.argv[2], { maxHeaderSize: 16384 });
const status = await new Promise((resolve, reject) => {
  let code = 0;
  client.dispatch({ path: '/', method: 'GET' }, {
    onRequestStart() {},
    onResponseStart(_c, c) { code = c; },
    onResponseData() {},
    onResponseEnd() { resolve(code); },
    onResponseError(_c, err) { reject(err); },
  });
});
await client.close();
const afterClose = loaded();
const { IncomingMessage } = await import('node:http');
const { Socket } = await import('node:net');
const message = new IncomingMessage(new Socket());
util.destroy(message);
console.log(JSON.stringify({ status, afterClose, socket: message.socket, destroyed: message.destroyed }));
`;

test('a socket undici destroys (a Connection: close answer) does not load node:http; an IncomingMessage is still one', async () => {
  const server = createServer((_req, res) => {
    res.setHeader('connection', 'close');
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const base = join(dir.path, 'close');
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'entry.js'), CLOSE_ENTRY);
    const options = await import(pathToFileURL(join(repoRoot, 'scripts', 'esbuild-options.mjs')).href);
    const { build } = await import('esbuild');
    const out = join(base, 'out');
    await build({
      ...options.bundleOptions({ entry: join(base, 'entry.js') }, out),
      nodePaths: [join(repoRoot, 'node_modules')],
    });
    await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { stdout } = await run(process.execPath, [join(out, 'entry.js'), url], { timeout: 30_000 });
    assert.deepEqual(JSON.parse(stdout), { status: 200, afterClose: false, socket: null, destroyed: true });
  } finally {
    server.close();
  }
});

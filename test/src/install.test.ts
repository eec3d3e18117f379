import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startDemoApi } from '@capi/demo-api';
import { readmeBlock, repoRoot, tempDir, withoutComment } from '@capi/testkit';

const run = promisify(execFile);
const TOOLS = ['capi-split', 'capi-exec', 'capi-launch', 'capi-watch', 'capi-merge'];
// csv-parse is the bench's baseline and a test's oracle only: the suite's CSV reader is capi's own (libs/core csv-reader.ts)
const DEV_TOOLING = ['nx', 'typescript', '@biomejs', 'newman', 'autocannon', 'esbuild', '@capi', 'csv-parse'];

let dir: Awaited<ReturnType<typeof tempDir>>;
let prefix: string;
let api: Awaited<ReturnType<typeof startDemoApi>>;

// The README's install block, run as printed from its second line on (the first, npm ci
// and the build, is what `npm test` has just done): packed from dist/package, installed
// into a prefix of its own with npm offline, which proves the tarball needs no registry.
before(async () => {
  dir = await tempDir('capi-install-');
  prefix = join(dir.path, 'prefix');
  api = await startDemoApi({});
  const lines = (await readmeBlock('### Install it anywhere', 'bash')).map(withoutComment);
  assert.match(lines[0] as string, /^npm ci && npm run build$/);
  const [pack, install] = lines.slice(1);
  // npm pack in the checkout (through a symlinked dist/ it silently leaves the bundled
  // dependencies out), the tarball written here; npm install -g here, into the prefix
  const env = { ...process.env, npm_config_prefix: prefix, npm_config_offline: 'true', npm_config_audit: 'false' };
  const options = { env: { ...env, npm_config_pack_destination: dir.path }, timeout: 300_000 };
  await run('bash', ['-c', pack as string], { ...options, cwd: repoRoot });
  await run('bash', ['-c', install as string], { ...options, cwd: dir.path });
});

after(async () => {
  await api?.close();
  await dir?.cleanup();
});

/** What cron gives a job: no environment but HOME, a short PATH, and the crontab's variables. */
function cronEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HOME: home, PATH: `${prefix}/bin:${dirname(process.execPath)}:/usr/bin:/bin`, LOGNAME: 'capi', ...extra };
}

test('the package installs the five commands and their man pages, with none of the dev tooling', async () => {
  const bins = await readdir(join(prefix, 'bin'));
  assert.deepEqual(bins.sort(), [...TOOLS].sort());
  const pages = await readdir(join(prefix, 'share', 'man', 'man1'));
  for (const t of TOOLS) assert.ok(pages.includes(`${t}.1`), `${t}.1 in ${pages}`);
  const deps = await readdir(join(prefix, 'lib', 'node_modules', 'capi', 'node_modules'));
  for (const d of ['citty', 'csv-stringify', 'blessed', 'chokidar']) assert.ok(deps.includes(d), d);
  // undici's Client is inside capi-exec's bundle (scripts/esbuild-options.mjs), its licence beside it
  assert.ok(!deps.includes('undici'), 'undici is bundled, not installed');
  assert.match(
    await readFile(join(prefix, 'lib', 'node_modules', 'capi', 'lib', 'LICENSE.undici'), 'utf8'),
    /MIT License/,
  );
  for (const d of DEV_TOOLING) assert.ok(!deps.includes(d), `${d} was installed`);
  const pkg = JSON.parse(await readFile(join(prefix, 'lib', 'node_modules', 'capi', 'package.json'), 'utf8'));
  assert.equal(pkg.engines.node, '>=20.18.1');
  assert.equal(pkg.devDependencies, undefined);
  assert.equal(pkg.scripts, undefined);
});

test('each installed command answers --version and --help from another folder, under a cron-like env', async () => {
  for (const tool of TOOLS) {
    const v = await run(tool, ['--version'], { cwd: dir.path, env: cronEnv(dir.path) });
    assert.equal(v.stdout, `${tool} 0.1.0\n`);
    const h = await run(tool, ['--help'], { cwd: dir.path, env: cronEnv(dir.path) });
    assert.match(h.stdout, /\nUsage: /);
  }
});

// A one-test run is what every pipeline stage pays (docs/benchmarks.md, start-up): the installed
// capi-exec runs it with undici from its own bundle (none is installed), without the node
// built-ins it takes only at their first use (node:http2 on a connection that negotiated h2,
// node:crypto at a journal's first temporary file...) and without importing any CommonJS module
// through the ES module loader (its CommonJS bundle is compiled by its loader, from the code
// cache it leaves under the user's ~/.cache/capi: docs/capi-exec.md).
test('the installed capi-exec runs a test from its bundle, loading neither CommonJS nor the built-ins it defers', async () => {
  const one = join(dir.path, 'one.ndjson');
  await writeFile(one, `${JSON.stringify({ id: 'H', request: { method: 'GET', url: `${api.url}/health` } })}\n`);
  const report =
    'process.on("exit", () => process.stderr.write("loaded " + JSON.stringify(process.moduleLoadList) + "\\n"));';
  const res = await run(
    process.execPath,
    [`--import=data:text/javascript,${encodeURIComponent(report)}`, join(prefix, 'bin', 'capi-exec'), '--in', one],
    { cwd: dir.path, env: cronEnv(dir.path) },
  );
  assert.equal(JSON.parse(res.stdout).status, 'passed');
  const loaded: string[] = JSON.parse(/^loaded (.*)$/m.exec(res.stderr)?.[1] ?? 'null');
  assert.ok(loaded.includes('NativeModule net'), 'the list is the one of the run');
  // taken at their first use, which a plain one-test run never reaches (scripts/esbuild-options.mjs,
  // core random-tag.ts, decode-body.ts, body-regex.ts)
  for (const deferred of ['http2', 'http', 'assert', 'crypto', 'perf_hooks', 'zlib', 'worker_threads'])
    assert.ok(!loaded.includes(`NativeModule ${deferred}`), `node:${deferred} loaded`);
  assert.ok(!loaded.includes('NativeModule internal/deps/cjs-module-lexer/lexer'), 'a CommonJS module imported');
  const caches = await readdir(join(dir.path, '.cache', 'capi'));
  assert.equal(
    caches.filter((n) => /^capi-exec-[0-9a-f]{16}-[0-9a-f]{8}-v[\d.]+-\w+\.v8cache$/.test(n)).length,
    1,
    caches.join(),
  );
});

// Past 16 batch files capi-split --out writes on a thread whose module is a file of its own
// (lib/batch-file-thread.js): the bundle must ship it, or every large split fails. The suite
// comes on stdin: a suite file under 1 MiB has its files written without the thread.
test('the installed capi-split writes 40 batches (its file thread is in the package)', async () => {
  const suite = join(dir.path, 'forty.csv');
  let text = 'id,url\n';
  for (let i = 0; i < 40; i++) text += `T${i},/items/${i}\n`;
  await writeFile(suite, text);
  const out = join(dir.path, 'forty-batches');
  await run('/bin/sh', ['-c', 'capi-split - --batch-size 1 --out forty-batches < forty.csv'], {
    cwd: dir.path,
    env: cronEnv(dir.path),
  });
  const names = (await readdir(out)).filter((n) => n.endsWith('.ndjson')).sort();
  assert.equal(names.length, 40);
  assert.equal(JSON.parse(await readFile(join(out, names[39] as string), 'utf8')).id, 'T39');
});

// The README's cron line, run as cron runs it: /bin/sh -c with the command after the five
// schedule fields, from HOME, with the installed commands on PATH and API from the crontab.
test("the README's cron line runs a suite with the installed commands and leaves its verdict", async () => {
  const [line] = await readmeBlock('### A night run from cron', 'cron');
  const command = (line as string).trim().split(/\s+/).slice(5).join(' ');
  assert.match(command, /^cd "\$HOME\/api-tests" && capi-launch suite\.csv /);
  const home = join(dir.path, 'home');
  const work = join(home, 'api-tests');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'suite.csv'), 'id,url,expect_status\nH,/health,200\nI,/items/7,200\nN,/status/404,404\n');
  const res = await run('/bin/sh', ['-c', command], {
    cwd: '/',
    env: cronEnv(home, { API: api.url }),
    timeout: 240_000,
  });
  assert.equal(res.stdout, '');
  assert.equal(res.stderr, '');
  const log = await readFile(join(work, 'cron.log'), 'utf8');
  assert.match(log, /run ended: exit 0/);
  const verdicts = await readFile(join(work, 'verdicts.log'), 'utf8');
  assert.match(verdicts, /^capi_test_\d{8}_\d{6}(_\d+)? passed\n$/);
  const report = join(work, 'capi-runs', 'latest', 'report');
  assert.ok(existsSync(join(report, 'junit.xml')), 'junit.xml in the report');
  const summary = await run('capi-watch', ['--summary'], { cwd: work, env: cronEnv(home) });
  assert.match(summary.stdout, /COMPLETED/);
});

// npm 11 ends an install with a warning for every dependency whose install script package.json's
// allowScripts does not cover (nx's and esbuild's): none may be left for a user to decode.
test('npm install leaves no install script unreviewed, so it ends without a warning', async () => {
  const { stdout } = await run('npm', ['install-scripts', 'ls', '--json'], {
    cwd: repoRoot,
    env: { ...process.env, npm_config_offline: 'true' },
    timeout: 60_000,
  });
  assert.deepEqual(JSON.parse(stdout).allowScripts, []);
  const root = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  assert.deepEqual(root.allowScripts, { nx: false, esbuild: false });
});

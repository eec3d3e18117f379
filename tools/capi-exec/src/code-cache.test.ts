import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, repoRoot, runTool, testEnv } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

const scope = fileScope();

/** A one-test run whose result records do not depend on timing. */
async function oneTest() {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const suite = join(dir, 'one.ndjson');
  await writeFile(suite, ndjson([get('t1', `${s.url}/a`)]));
  const run = async (env: Record<string, string>, args: string[] = []) => {
    const r = await runTool('capi-exec', ['--in', suite, '--quiet', ...args], { env });
    const records = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const { startedAt: _s, durationMs: _d, ...rest } = JSON.parse(l);
        return rest;
      });
    return { ...r, records };
  };
  return { dir, run };
}

const onlyFile = (dir: string) => {
  const names = readdirSync(dir);
  assert.equal(names.length, 1, names.join(', '));
  return join(dir, names[0] as string);
};

test('capi-exec leaves a code cache after its first run of tests, and every start after it takes it', async () => {
  const { dir, run } = await oneTest();
  const cache = join(dir, 'cache');
  // --version compiles too little to be worth a cache: nothing written, no folder made
  const version = await runTool('capi-exec', ['--version'], { env: { CAPI_CODE_CACHE: cache } });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(existsSync(cache), false);
  const first = await run({ CAPI_CODE_CACHE: cache });
  assert.equal(first.code, 0, first.stderr);
  const file = onlyFile(cache);
  assert.match(file, /capi-exec-[0-9a-f]{16}-[0-9a-f]{8}-v\d+\.\d+\.\d+-\w+\.v8cache$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const made = statSync(file);
  // taken, so not written again: a cache V8 refused (e.g. capi-exec set a V8 flag its loader
  // does not: libs/exec v8-flags.ts) would be replaced at every run's end
  const second = await run({ CAPI_CODE_CACHE: cache });
  assert.equal(second.code, 0, second.stderr);
  const after = statSync(file);
  assert.equal(after.ino, made.ino);
  assert.equal(after.mtimeMs, made.mtimeMs);
  // the same run, with or without the cache
  const off = await run({ CAPI_CODE_CACHE: 'off' });
  assert.deepEqual(second.records, first.records);
  assert.deepEqual(off.records, first.records);
  assert.equal(off.stderr, first.stderr);
  assert.deepEqual(readdirSync(cache), [file.slice(cache.length + 1)]);
});

test('a run that judged no answer (an empty --in, every request cut) leaves no code cache; the next that does, leaves one', async () => {
  const { dir, run } = await oneTest();
  const cache = join(dir, 'cache');
  const empty = join(dir, 'empty.ndjson');
  await writeFile(empty, '');
  const none = await runTool('capi-exec', ['--in', empty], { env: { CAPI_CODE_CACHE: cache } });
  assert.equal(none.code, 0, none.stderr);
  assert.equal(existsSync(cache), false, 'an empty --in compiled too little to keep');
  // every request cut before an answer: errors only
  const cut = await scope.server((req) => req.socket.destroy());
  const reset = join(dir, 'reset.ndjson');
  await writeFile(reset, ndjson([get('r1', `${cut.url}/a`), get('r2', `${cut.url}/b`)]));
  const lost = await runTool('capi-exec', ['--in', reset, '--retries', '0', '--quiet'], {
    env: { CAPI_CODE_CACHE: cache },
  });
  assert.equal(lost.code, 1, lost.stderr);
  assert.match(lost.stdout, /"status":"error"/);
  assert.equal(existsSync(cache), false, 'no answer judged: nothing kept');
  const first = await run({ CAPI_CODE_CACHE: cache });
  assert.equal(first.code, 0, first.stderr);
  assert.match(onlyFile(cache), /\.v8cache$/);
});

test('a run whose reader stopped reading (`| head -1`: EPIPE, exit 0) after a judged answer leaves a code cache', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const many = join(dir, 'many.ndjson');
  await writeFile(many, ndjson(Array.from({ length: 2000 }, (_, i) => get(`t${i}`, `${s.url}/${i}`))));
  const cache = join(dir, 'cache');
  const child = spawn(process.execPath, [binPath('capi-exec'), '--in', many, '--quiet'], {
    cwd: repoRoot,
    env: testEnv({ CAPI_CODE_CACHE: cache }),
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // the first result read, the pipe closed: capi-exec's next write meets EPIPE and it exits 0
  child.stdout.once('data', () => child.stdout.destroy());
  const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(limit);
  assert.equal(code, 0);
  assert.match(onlyFile(cache), /\.v8cache$/, 'a test passed before the pipe closed');
});

test('capi-exec with a damaged code cache runs as without one and replaces it; a folder others may write is not used', async () => {
  const { dir, run } = await oneTest();
  const cache = join(dir, 'cache');
  const good = await run({ CAPI_CODE_CACHE: cache });
  assert.equal(good.code, 0, good.stderr);
  const file = onlyFile(cache);
  writeFileSync(file, Buffer.alloc(100_000, 0xa5), { mode: 0o600 });
  const damaged = statSync(file).ino;
  const r = await run({ CAPI_CODE_CACHE: cache });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.records, good.records);
  assert.notEqual(statSync(file).ino, damaged);
  // the default folder under HOME, made 0700
  const home = join(dir, 'home');
  mkdirSync(home);
  const h = await run({ HOME: home, XDG_CACHE_HOME: '', CAPI_CODE_CACHE: '' });
  assert.equal(h.code, 0, h.stderr);
  assert.equal(statSync(join(home, '.cache', 'capi')).mode & 0o777, 0o700);
  assert.equal(readdirSync(join(home, '.cache', 'capi')).length, 1);
  // a failed run (exit 2, bad usage) leaves none
  const bad = await run({ CAPI_CODE_CACHE: join(dir, 'bad') }, ['--concurrency', 'x']);
  assert.equal(bad.code, 2);
  assert.equal(existsSync(join(dir, 'bad')), false);
  // a relative CAPI_CODE_CACHE is no folder: nothing made where capi-exec runs
  const rel = await runTool('capi-exec', ['--in', join(dir, 'one.ndjson'), '--quiet'], {
    env: { CAPI_CODE_CACHE: 'rel-cache' },
    cwd: dir,
  });
  assert.equal(rel.code, 0, rel.stderr);
  assert.equal(existsSync(join(dir, 'rel-cache')), false);
});

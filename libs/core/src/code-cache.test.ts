import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cacheFolderReady,
  codeCacheDir,
  codeCacheFile,
  noteAnswerJudged,
  readCodeCache,
  STALE_CACHE_MS,
  worthKeepingCodeCache,
  writeCodeCache,
} from './code-cache.js';

const here = fileURLToPath(new URL('./code-cache.js', import.meta.url));

function inTemp(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'capi-code-cache-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the cache folder: CAPI_CODE_CACHE, else an absolute XDG_CACHE_HOME, else ~/.cache; off turns it off', () => {
  assert.equal(codeCacheDir({ CAPI_CODE_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
  assert.equal(codeCacheDir({ CAPI_CODE_CACHE: 'off', HOME: '/h' }), null);
  assert.equal(codeCacheDir({ CAPI_CODE_CACHE: '0', HOME: '/h' }), null);
  assert.equal(codeCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/capi');
  // a relative XDG_CACHE_HOME is invalid by the XDG spec: ignored
  assert.equal(codeCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/h' }), '/h/.cache/capi');
  assert.equal(codeCacheDir({ HOME: '/h' }), '/h/.cache/capi');
  for (const off of ['false', 'no', 'OFF']) assert.equal(codeCacheDir({ CAPI_CODE_CACHE: off, HOME: '/h' }), null, off);
  // a relative folder would be made wherever capi-exec happens to run
  assert.equal(codeCacheDir({ CAPI_CODE_CACHE: '1', HOME: '/h' }), null);
  assert.equal(codeCacheDir({ CAPI_CODE_CACHE: 'cache/here', HOME: '/h' }), null);
});

test('a cache file is named by the key, the bundle file as read and the Node options', () => {
  const name = (source: { size: number; mtimeMs: number }, options = '') =>
    codeCacheFile('/c', { name: 'capi-exec', key: 'k' }, source, options);
  const base = name({ size: 10, mtimeMs: 1000 });
  assert.match(base, /^\/c\/capi-exec-k-[0-9a-f]{8}-v\d+\.\d+\.\d+-\w+\.v8cache$/);
  assert.equal(name({ size: 10, mtimeMs: 1000.4 }), base);
  assert.notEqual(name({ size: 10, mtimeMs: 2000 }), base, 'edited in place');
  assert.notEqual(name({ size: 11, mtimeMs: 1000 }), base);
  assert.notEqual(name({ size: 10, mtimeMs: 1000 }, '--max-old-space-size=300'), base);
});

test('a cache folder is made only where this user owns the folder above, and used only if no one else can write it', () => {
  inTemp((dir) => {
    // ~/.cache and ~/.cache/capi made, 0700, in a home of ours
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o755 });
    assert.equal(cacheFolderReady(join(home, '.cache', 'capi')), true);
    assert.equal(statSync(join(home, '.cache')).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, '.cache', 'capi')).mode & 0o777, 0o700);
    assert.equal(cacheFolderReady(join(home, '.cache', 'capi')), true, 'already there');
    // no home: nothing made
    assert.equal(cacheFolderReady(join(dir, 'no-home', '.cache', 'capi')), false);
    assert.equal(existsSync(join(dir, 'no-home')), false);
    // a folder others may write, or in a folder others may write (not sticky): not used
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.equal(cacheFolderReady(open), false);
    mkdirSync(join(open, 'capi'), { mode: 0o700 });
    assert.equal(cacheFolderReady(join(open, 'capi')), false, 'in a folder others could rename it in');
    // in a sticky one (as /tmp), a folder of ours is ours
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    mkdirSync(join(sticky, 'capi'), { mode: 0o700 });
    assert.equal(cacheFolderReady(join(sticky, 'capi')), true);
    // a link to a folder of ours is not a folder
    symlinkSync(join(sticky, 'capi'), join(dir, 'linked'));
    assert.equal(cacheFolderReady(join(dir, 'linked')), false);
  });
});

test("root with another user's HOME (sudo -E) makes nothing in that home", {
  skip: process.getuid?.() !== 0 && 'needs root',
}, () => {
  inTemp((dir) => {
    const home = join(dir, 'someone');
    mkdirSync(home, { mode: 0o755 });
    chownSync(home, 12345, 12345);
    assert.equal(cacheFolderReady(join(home, '.cache', 'capi')), false);
    assert.deepEqual(readdirSync(home), []);
    mkdirSync(join(home, '.cache'), { mode: 0o700 });
    chownSync(join(home, '.cache'), 12345, 12345);
    assert.equal(cacheFolderReady(join(home, '.cache', 'capi')), false);
    assert.deepEqual(readdirSync(join(home, '.cache')), []);
  });
});

test('a run worth a cache ended 0 or 1 having judged an answer, and was not one the tool answers itself', () => {
  assert.equal(worthKeepingCodeCache(0, ['--in', 'x'], true), true);
  assert.equal(worthKeepingCodeCache(1, ['--in', 'x'], true), true);
  for (const code of [2, 3, 130, 143]) assert.equal(worthKeepingCodeCache(code, ['--in', 'x'], true), false);
  for (const a of ['--version', '--help', '-h', '--man', '--completion', '--completion=zsh'])
    assert.equal(worthKeepingCodeCache(0, [a], true), false, a);
  // after `--`, a flag-like word is an operand
  assert.equal(worthKeepingCodeCache(0, ['--', '--version'], true), true);
  // nothing judged (an empty input, every request cut): not worth it, whatever the exit
  assert.equal(worthKeepingCodeCache(0, ['--in', 'x'], false), false);
  assert.equal(worthKeepingCodeCache(1, ['--in', 'x'], false), false);
  // the default is what the run noted
  assert.equal(worthKeepingCodeCache(0, ['--in', 'x']), false);
  noteAnswerJudged();
  assert.equal(worthKeepingCodeCache(0, ['--in', 'x']), true);
});

test("a cache is read only from a regular file of this user's that no one else may write, never through a link", () => {
  inTemp((dir) => {
    const file = join(dir, 'c.v8cache');
    writeFileSync(file, 'bytes', { mode: 0o600 });
    assert.equal(readCodeCache(file)?.toString(), 'bytes');
    chmodSync(file, 0o620);
    assert.equal(readCodeCache(file), undefined, 'group-writable');
    chmodSync(file, 0o602);
    assert.equal(readCodeCache(file), undefined, 'writable by others');
    chmodSync(file, 0o644);
    assert.equal(readCodeCache(file)?.toString(), 'bytes', 'readable by others is no risk');
    const link = join(dir, 'l.v8cache');
    symlinkSync(file, link);
    assert.equal(readCodeCache(link), undefined, 'a symbolic link');
    assert.equal(readCodeCache(join(dir, 'missing')), undefined);
    mkdirSync(join(dir, 'd.v8cache'));
    assert.equal(readCodeCache(join(dir, 'd.v8cache')), undefined, 'a folder');
  });
});

test('a cache is written whole, 0600, and stale caches of the same tool go; a failure is silent', () => {
  inTemp((dir) => {
    const now = Date.now();
    const old = (name: string) => {
      writeFileSync(join(dir, name), 'x');
      const t = (now - STALE_CACHE_MS - 60_000) / 1000;
      utimesSync(join(dir, name), t, t);
    };
    old('capi-exec-aaaa-v20.0.0-x64.v8cache');
    old('capi-merge-aaaa-v20.0.0-x64.v8cache');
    old('capi-exec-notes.txt');
    // left by a writer killed in its write
    old('capi-exec-aaaa-v20.0.0-x64.v8cache.123.abc.tmp');
    writeFileSync(join(dir, 'capi-exec-cccc.v8cache.456.def.tmp'), 'being written');
    writeFileSync(join(dir, 'capi-exec-bbbb-v20.0.0-x64.v8cache'), 'recent');
    const file = join(dir, `capi-exec-cccc-${process.version}-${process.arch}.v8cache`);
    assert.equal(writeCodeCache(file, Buffer.from('new'), 'capi-exec', now), true);
    assert.equal(readFileSync(file, 'utf8'), 'new');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [
        'capi-exec-bbbb-v20.0.0-x64.v8cache',
        'capi-exec-cccc.v8cache.456.def.tmp',
        `capi-exec-cccc-${process.version}-${process.arch}.v8cache`,
        'capi-exec-notes.txt',
        'capi-merge-aaaa-v20.0.0-x64.v8cache',
      ].sort(),
    );
    // a folder gone (or a read-only one, a full disk): false, nothing thrown, no temporary file left
    assert.equal(writeCodeCache(join(dir, 'gone', 'c.v8cache'), Buffer.from('x'), 'capi-exec'), false);
    assert.equal(existsSync(join(dir, 'gone')), false);
  });
});

/** Runs `runCodeCached` on `bundle` in a child process (the cache is written at its `exit`). */
function runChild(dir: string, bundle: string, extra: { exit?: number; key?: string; env?: NodeJS.ProcessEnv } = {}) {
  const script = `
    import { runCodeCached } from ${JSON.stringify(here)};
    runCodeCached({ code: ${JSON.stringify(bundle)}, key: ${JSON.stringify(extra.key ?? 'k1')}, name: 'tool',
      v8Flags: ['--regexp-backtracks-before-fallback=12345'], worthKeeping: (c) => c === 0 });
    process.exitCode = ${extra.exit ?? 0};`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CAPI_CODE_CACHE: join(dir, 'cache'), ...extra.env },
    timeout: 20_000,
  });
  assert.equal(r.status, extra.exit ?? 0, r.stderr);
  return r.stdout;
}

function onlyFile(dir: string): string {
  const names = readdirSync(dir);
  assert.equal(names.length, 1, names.join(', '));
  return names[0] as string;
}

function bundleIn(dir: string): string {
  const bundle = join(dir, 'tool.code.cjs');
  // strict as the built bundles are; `require` gives built-ins only; __filename and module are CommonJS's
  writeFileSync(
    bundle,
    `'use strict';
const { join } = require('node:path');
function greet(n) { return 'hello ' + n; }
module.exports.x = 1;
process.stdout.write(greet(typeof undeclared) + ' ' + (this === module.exports) + ' ' + join(__dirname, 'x') + '\\n');
let threw = false; try { require('citty'); } catch { threw = true; }
process.stdout.write('third-party require refused: ' + threw + '\\n');`,
  );
  return bundle;
}

test('runCodeCached runs the bundle as CommonJS, leaves a cache after a run worth it, and takes it at the next start', () => {
  inTemp((dir) => {
    const bundle = bundleIn(dir);
    const expected = `hello undefined true ${join(dir, 'x')}\nthird-party require refused: true\n`;
    // exit 3: not worth keeping, nothing written
    assert.equal(runChild(dir, bundle, { exit: 3 }), expected);
    const cacheDir = join(dir, 'cache');
    assert.equal(existsSync(cacheDir), false, 'a run that writes no cache makes no folder');
    assert.equal(runChild(dir, bundle), expected);
    assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
    const name = onlyFile(cacheDir);
    assert.match(name, /^tool-k1-[0-9a-f]{8}-v\d+\.\d+\.\d+-\w+\.v8cache$/);
    const first = statSync(join(cacheDir, name));
    // taken: not written again (a refused cache would be replaced: a new inode)
    assert.equal(runChild(dir, bundle), expected);
    const second = statSync(join(cacheDir, name));
    assert.equal(second.ino, first.ino);
    assert.equal(second.mtimeMs, first.mtimeMs);
  });
});

test('a damaged cache or one made under other flags is refused by V8 and replaced; the run is the same', () => {
  inTemp((dir) => {
    const bundle = bundleIn(dir);
    const expected = runChild(dir, bundle);
    const cacheDir = join(dir, 'cache');
    const file = join(cacheDir, onlyFile(cacheDir));
    writeFileSync(file, Buffer.alloc(4096, 7), { mode: 0o600 });
    const damaged = statSync(file).ino;
    assert.equal(runChild(dir, bundle), expected);
    assert.notEqual(statSync(file).ino, damaged, 'the damaged cache was replaced');
    // a good header and a damaged body: V8 checks only the header unless told to checksum
    // (VERIFY_CACHE_FLAG); without it such a cache is run, or crashes V8 at every start
    for (const at of [0.3, 0.5, 0.8]) {
      const bytes = readFileSync(file);
      const from = Math.floor(bytes.length * at);
      for (let i = from; i < Math.min(bytes.length, from + 64); i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
      writeFileSync(file, bytes, { mode: 0o600 });
      const flipped = statSync(file).ino;
      assert.equal(runChild(dir, bundle), expected, `bytes flipped at ${at}`);
      assert.notEqual(statSync(file).ino, flipped, `the cache flipped at ${at} was refused and replaced`);
    }
    // a cache made under other V8 flags (the loader sets the tool's before it compiles)
    const good = readFileSync(file);
    const noFlags = `import { Script } from 'node:vm'; import { readFileSync, writeFileSync } from 'node:fs';
      const s = new Script('(function (exports, require, module, __filename, __dirname) {' + readFileSync(${JSON.stringify(bundle)}, 'utf8') + '\\n})', { filename: ${JSON.stringify(bundle)} });
      writeFileSync(${JSON.stringify(file)}, s.createCachedData());`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', noFlags], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.notDeepEqual(readFileSync(file), good);
    const other = statSync(file).ino;
    assert.equal(runChild(dir, bundle), expected);
    assert.notEqual(statSync(file).ino, other, 'a cache made under other flags was refused and replaced');
  });
});

test('a cache folder another user could write, or a link, is neither read nor written', () => {
  inTemp((dir) => {
    const bundle = bundleIn(dir);
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const expected = runChild(dir, bundle, { env: { CAPI_CODE_CACHE: open } });
    assert.deepEqual(readdirSync(open), []);
    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(dir, 'linked'));
    assert.equal(runChild(dir, bundle, { env: { CAPI_CODE_CACHE: join(dir, 'linked') } }), expected);
    assert.deepEqual(readdirSync(real), []);
    // off: nothing made
    assert.equal(runChild(dir, bundle, { env: { CAPI_CODE_CACHE: 'off' } }), expected);
    assert.equal(existsSync(join(dir, 'off')), false);
  });
});

test('another bundle of the same length never takes the cache: another build (key) or a bundle edited in place (mtime)', () => {
  inTemp((dir) => {
    const bundle = join(dir, 'tool.code.cjs');
    // V8 would take A's cache for B (same length) and run A
    const write = (text: string, mtime: number) => {
      writeFileSync(bundle, `process.stdout.write('${text}\\n');`);
      utimesSync(bundle, mtime, mtime);
    };
    write('A', 1_000_000);
    assert.equal(runChild(dir, bundle, { key: 'k1' }), 'A\n');
    write('B', 1_000_000);
    assert.equal(runChild(dir, bundle, { key: 'k2' }), 'B\n', 'another build, the same mtime');
    write('C', 2_000_000);
    assert.equal(runChild(dir, bundle, { key: 'k2' }), 'C\n', 'the same build edited by hand');
    assert.equal(readdirSync(join(dir, 'cache')).length, 3);
  });
});

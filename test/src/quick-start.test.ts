import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { collect, readmeBlock, repoRoot, tempDir, withoutComment } from '@capi/testkit';

const run = promisify(execFile);

/** Copies what a fresh clone would hold (tracked files, and new ones not ignored) into `to`. */
async function freshCopy(to: string): Promise<number> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  let n = 0;
  for (const file of stdout.split('\0')) {
    if (file === '') continue;
    await mkdir(dirname(join(to, file)), { recursive: true });
    // a file deleted in the work tree but still in the index is not in a fresh clone either
    await copyFile(join(repoRoot, file), join(to, file)).then(
      () => n++,
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
  }
  return n;
}

// The README's quick start, its first line run as printed by /bin/sh in a copy of the
// checkout with no node_modules and no build: install, build and the demo run must all
// work from nothing. npm is offline (the packages come from the cache `npm ci` filled), so
// the test needs no registry; nothing else is set up for it.
test("the README's quick start, `npm install && npm start`, runs as printed on a fresh copy", async () => {
  const [first] = (await readmeBlock('## Quick start', 'bash')).map(withoutComment);
  assert.equal(first, 'npm install && npm start');
  const dir = await tempDir('capi-quick-start-');
  try {
    assert.ok((await freshCopy(dir.path)) > 100);
    const child = spawn('/bin/sh', ['-c', first as string], {
      cwd: dir.path,
      env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // the whole process group (npm, the build, the demo API, the run's processes) is bounded
    const killGroup = () => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {}
    };
    const timer = setTimeout(killGroup, 600_000);
    const res = await collect(child, { timeoutMs: 610_000 }).finally(() => {
      clearTimeout(timer);
      killGroup();
    });
    assert.equal(res.code, 0, `${res.stdout.slice(-3000)}\n${res.stderr.slice(-3000)}`);
    assert.match(res.stdout, /The demo ran as designed/);
    assert.match(res.stdout, /open the HTML report: +\S+report\.html\n/);
  } finally {
    await dir.cleanup();
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

const scope = fileScope();

const ids = (text: string) => (parseLines(text) as Array<{ id: string }>).map((r) => r.id);

/** The pid of a process that has ended (and been reaped): what a kill -9 leaves in a lock. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('a second capi-exec on the same journal exits 3 naming the first; the first runs on and releases the lock', async () => {
  let hold = true;
  const waiting: Array<() => void> = [];
  const s = await scope.server((_req, res) => {
    if (hold) waiting.push(() => res.end('ok'));
    else res.end('ok');
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson(Array.from({ length: 20 }, (_, i) => get(`t${i}`, '/x')));
  const first = spawnExec(['--base-url', s.url, '--journal', journal, '--concurrency', '2'], { input });
  await waitFor(() => waiting.length === 2);
  const lock = JSON.parse(await readFile(`${journal}.lock`, 'utf8'));
  assert.equal(lock.pid, first.child.pid);

  const second = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], { input });
  assert.equal(second.code, 3);
  assert.equal(second.stderr, `capi-exec: journal ${journal} is in use by capi-exec pid ${first.child.pid}\n`);
  assert.equal(second.stdout, '');
  assert.equal(s.hits.length, 2, 'the second sent nothing');

  hold = false;
  for (const release of waiting.splice(0)) release();
  const r = await first.done;
  assert.equal(r.code, 0, r.stderr);
  const journaled = ids(await readFile(journal, 'utf8'));
  assert.equal(journaled.length, 20);
  assert.equal(new Set(journaled).size, 20, 'each id once');
  assert.ok(!existsSync(`${journal}.lock`), 'released at the end');
});

test('a stale lock (its pid is gone) is taken over, saying so; released again on exit', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const pid = deadPid();
  await writeFile(`${journal}.lock`, `${JSON.stringify({ pid, host: hostname(), since: 'x' })}\n`);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], {
    input: ndjson([get('a', '/a')]),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `capi-exec: took over the stale lock ${journal}\\.lock of capi-exec pid ${pid}, which is no longer running\\n`,
    ),
  );
  assert.deepEqual(ids(await readFile(journal, 'utf8')), ['a']);
  assert.ok(!existsSync(`${journal}.lock`));
});

test('a lock held on another host counts as held (its pid cannot be checked from here)', async () => {
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  await writeFile(`${journal}.lock`, `${JSON.stringify({ pid: 4242, host: 'elsewhere', since: 'x' })}\n`);
  const r = await runTool('capi-exec', ['--base-url', 'http://127.0.0.1:1', '--journal', journal], {
    input: ndjson([get('a', '/a')]),
  });
  assert.equal(r.code, 3);
  assert.equal(
    r.stderr,
    `capi-exec: journal ${journal} is in use by capi-exec pid 4242 on elsewhere (if it is not running there, remove ${journal}.lock)\n`,
  );
  assert.ok(existsSync(`${journal}.lock`), 'not taken over');
});

test('the lock is released on every exit path: bad input, a refused resume, SIGTERM, a second signal', async () => {
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const lock = `${journal}.lock`;
  const dup = await runTool('capi-exec', ['--base-url', 'http://127.0.0.1:1', '--journal', journal], {
    input: ndjson([get('a', '/a'), get('a', '/a')]),
  });
  assert.equal(dup.code, 2, dup.stderr);
  assert.ok(!existsSync(lock), 'after bad input');
  const shard = await runTool(
    'capi-exec',
    ['--base-url', 'http://127.0.0.1:1', '--journal', journal, '--shard', '1/2'],
    {
      input: ndjson([get('b', '/b')]),
    },
  );
  assert.equal(shard.code, 2, shard.stderr);
  assert.ok(!existsSync(lock), 'after a refused resume');

  const s = await scope.server(() => {}); // never answers
  for (const signals of [['SIGTERM'], ['SIGINT', 'SIGINT']] as const) {
    const j = join(dir, `${signals.length}.ndjson`);
    // One signal: the grace runs out and the test is cut. Two: the second exits at once (process.exit).
    const grace = signals.length === 1 ? '200' : '30000';
    const run = spawnExec(['--base-url', s.url, '--journal', j, '--grace', grace], {
      input: ndjson([get('slow', '/slow')]),
    });
    const before = s.hits.length;
    await waitFor(() => s.hits.length > before);
    for (const sig of signals) {
      run.child.kill(sig);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await run.done;
    assert.equal(r.code, signals[0] === 'SIGTERM' ? 143 : 130, r.stderr);
    if (signals.length === 2) assert.match(r.stderr, /second SIGINT: exiting now/);
    assert.ok(!existsSync(`${j}.lock`), `after ${signals.join(', ')}`);
  }
});

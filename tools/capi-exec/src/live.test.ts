import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDemoApi } from '@capi/demo-api';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

const scope = fileScope();

const readJson = async (path: string) => {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
};

test('--status: the heartbeat shows the run while it goes and its end', async () => {
  const s = await scope.server((_req, res) => setTimeout(() => res.end('ok'), 60));
  const dir = await scope.scratch();
  const status = join(dir, 'status', 'batch_0007.json');
  const input = ndjson(Array.from({ length: 40 }, (_, i) => get(`t${i}`, '/x')));
  const run = spawnExec(
    ['--base-url', s.url, '--status', status, '--batch', 'batch_0007', '--total', '40', '--concurrency', '2'],
    { input },
  );
  let seen: { state: string; inFlight: string[]; done: number } | null = null;
  await waitFor(() => {
    void readJson(status).then((b) => {
      if (b?.state === 'running' && b.inFlight.length > 0 && b.done > 0) seen = b;
    });
    return seen !== null;
  });
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  const last = await readJson(status);
  assert.equal(last.state, 'completed');
  assert.equal(last.batch, 'batch_0007');
  assert.equal(last.total, 40);
  assert.equal(last.done, 40);
  assert.equal(last.passed, 40);
  assert.deepEqual(last.inFlight, []);
  assert.equal(last.pid, run.child.pid);
  assert.ok(Date.parse(last.updatedAt) >= Date.parse(last.startedAt));
});

test('--control: paused holds new tests; the shared rate applies once it is lifted', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const control = join(dir, 'control.json');
  const status = join(dir, 'status.json');
  await writeFile(control, JSON.stringify({ paused: true, rate: '20/s', workers: 2, concurrency: 4 }));
  const input = ndjson(Array.from({ length: 11 }, (_, i) => get(`t${i}`, '/x')));
  const run = spawnExec(['--base-url', s.url, '--control', control, '--status', status], { input });
  let paused = false;
  await waitFor(() => {
    void readJson(status).then((b) => {
      if (b?.state === 'paused') paused = true;
    });
    return paused;
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.hits.length, 0, 'no test starts while paused');
  await writeFile(control, JSON.stringify({ paused: false, rate: '20/s', workers: 2, concurrency: 4 }));
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.hits.length, 11);
  const span = (s.hits.at(-1)?.at ?? 0) - (s.hits[0]?.at ?? 0);
  assert.ok(span >= 950, `11 starts at 20/s shared by 2 workers (10/s) span >= 1 s, got ${span} ms`);
});
test('--delay pauses each lane between tests', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const input = ndjson(Array.from({ length: 4 }, (_, i) => get(`t${i}`, '/x')));
  const r = await runTool('capi-exec', ['--base-url', s.url, '--concurrency', '1', '--delay', '200'], { input });
  assert.equal(r.code, 0, r.stderr);
  for (let i = 1; i < s.hits.length; i++) {
    const gap = (s.hits[i]?.at ?? 0) - (s.hits[i - 1]?.at ?? 0);
    assert.ok(gap >= 195, `gap ${gap}`);
  }
});

test('--delay: no pause after the last test: the process exits when the tests are done', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const input = ndjson(Array.from({ length: 2 }, (_, i) => get(`t${i}`, '/x')));
  const began = Date.now();
  const r = await runTool('capi-exec', ['--base-url', s.url, '--concurrency', '2', '--delay', '4000'], { input });
  const took = Date.now() - began;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.hits.length, 2);
  // Before: 4 s and more, every lane's pause paid with no test left to start after it.
  assert.ok(took < 2500, `capi-exec took ${took} ms for two tests`);
});

test('rate-limit headers slow the run before the API has to say 429', async () => {
  const api = await startDemoApi();
  try {
    const input = ndjson(Array.from({ length: 25 }, (_, i) => get(`t${i}`, '/ratelimit-headers?limit=10')));
    const r = await runTool('capi-exec', ['--base-url', api.url, '--concurrency', '4', '--retries', '5'], { input });
    assert.equal(r.code, 0, r.stderr);
    const results = parseLines(r.stdout) as Array<{ status: string }>;
    assert.equal(results.filter((x) => x.status === 'passed').length, 25);
    const tooMany = api.stats().requests - 25;
    assert.ok(tooMany <= 4, `${tooMany} requests were answered 429`);
  } finally {
    await api.close();
  }
});

test('a heartbeat that cannot be written warns once and the run ends by its verdict', async () => {
  const s = await scope.server((_req, res) => setTimeout(() => res.end('ok'), 5));
  const dir = await scope.scratch();
  const file = join(dir, 'file');
  await writeFile(file, '{}');
  const input = ndjson(Array.from({ length: 30 }, (_, i) => get(`t${i}`, '/x')));
  const status = join(file, 's.json');
  const r = await runTool('capi-exec', ['--base-url', s.url, '--status', status, '--concurrency', '2'], { input });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(parseLines(r.stdout).length, 30);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('heartbeat'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.ok(warnings[0]?.includes(status), r.stderr);
  assert.match(r.stderr, /30 ran, 30 passed/);
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /);
});

test('a journal that cannot be opened: one line, exit 3, no test run', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const file = join(dir, 'file');
  await writeFile(file, '{}');
  const input = ndjson([get('a', '/a'), get('b', '/b')]);
  for (const journal of [join(file, 'j.ndjson'), dir]) {
    const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], { input });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      `capi-exec: cannot open ${journal}: ${journal === dir ? 'it is a folder' : 'a part of the path is not a folder'}\n`,
    );
    assert.equal(r.stdout, '');
  }
  assert.equal(s.hits.length, 0);
});

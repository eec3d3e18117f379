import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  demoFor,
  demoSuite,
  exactlyOnce,
  journalIds,
  readJson,
  runDirOf,
  sandboxes,
  until,
} from './test-support/harness.js';

// A suite with relative URLs and no base URL is refused before a run exists (docs/capi-launch.md, step 3).

const box = sandboxes(true);
const demoA = demoFor(0);
const demoB = demoFor(0);
const runIds = (runs: string) => (existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith('capi_test_')) : []);
const NEEDS = /needs --base-url or CAPI_BASE_URL/;

test('a relative URL with neither --base-url nor CAPI_BASE_URL: exit 2 naming the suite line, no run folder', async () => {
  const b = await box({ CAPI_BASE_URL: '' }, false);
  b.suite(3);
  for (const how of [['--wait'], ['--foreground'], []]) {
    const r = await b.launch(['suite.csv', ...how], { cwd: b.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr.split('\n')[0],
      'capi-launch: suite.csv:2: field "url": relative URL "/items/1" needs --base-url or CAPI_BASE_URL',
    );
    assert.deepEqual(runIds(b.runs), [], 'no run folder left behind');
  }
});

test('disabled rows and absolute URLs need no base URL; the first enabled relative row is the one named', async () => {
  const b = await box({ CAPI_BASE_URL: '' }, false);
  const suite = join(b.dir, 'mixed.csv');
  writeFileSync(suite, 'id,url,enabled\nT1,http://127.0.0.1:9/a,yes\nT2,/off,no\nT3,/items/{{id}},yes\n');
  const r = await b.launch(['mixed.csv', '--wait'], { cwd: b.dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^capi-launch: mixed\.csv:4: field "url": relative URL "\/items\/\{\{id\}\}" needs/);
  const ok = await b.launch(['mixed.csv', '--base-url', 'http://127.0.0.1:9', '--foreground', '--max-errors', '1'], {
    cwd: b.dir,
  });
  assert.notEqual(ok.code, 2, ok.stderr);
  assert.doesNotMatch(ok.stderr, NEEDS);
});

test('--rerun-failed without a base URL is refused the same way, and makes no run', async () => {
  const b = await box({ FAKE_EXEC_FAIL: 'T0003' });
  b.suite(5);
  const first = await b.launch(['suite.csv', '--foreground'], { cwd: b.dir });
  assert.equal(first.code, 1, first.stderr);
  const [id] = runIds(b.runs);
  const again = await b.launch(['--rerun-failed', id as string, '--foreground'], { env: { CAPI_BASE_URL: '' } });
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /suite\.csv:4: field "url": relative URL "\/items\/3" needs --base-url or CAPI_BASE_URL/);
  assert.equal(runIds(b.runs).length, 1);
  const withUrl = await b.launch(['--rerun-failed', id as string, '--foreground', '--base-url', 'http://127.0.0.1:9'], {
    env: { CAPI_BASE_URL: '' },
  });
  assert.equal(withUrl.code, 1, withUrl.stderr);
  assert.equal(runIds(b.runs).length, 2);
});

test('--resume against another --base-url than the journals hold: exit 2 naming both, run untouched; --force goes on and passes --force to capi-exec', async () => {
  const b = await box({}, false);
  const suite = demoSuite(b.dir, 60);
  // one batch at 20/s takes 3 s: the stop lands in batch_0001 (a worker goes on to the next batch at once)
  const r = await b.launch([suite, '--base-url', demoA.url, '--parallel', '1', '--batch-size', '60', '--rate', '20/s']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  await until('a few results', () => journalIds(runDir).size >= 3);
  const stop = await b.launch(['--stop', runDir]);
  assert.equal(stop.code, 0, stop.stderr);
  const before = readFileSync(join(runDir, 'run.json'), 'utf8');
  assert.equal((JSON.parse(before) as { state: string }).state, 'stopped');
  const refused = await b.launch(['--resume', runDir, '--base-url', `${demoB.url}/`, '--wait']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`results from --base-url ${demoA.url} \\(batch_0001\\)`));
  assert.match(refused.stderr, new RegExp(`would run against ${demoB.url};`));
  assert.match(refused.stderr, /add --force/);
  assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, 'a refused resume changes nothing');
  const forced = await b.launch(['--resume', runDir, '--base-url', demoB.url, '--force', '--wait']);
  assert.equal(forced.code, 0, forced.stderr);
  const m = readJson<{ state: string; options: { execArgs: string[] } }>(join(runDir, 'run.json'));
  assert.equal(m.state, 'completed');
  assert.deepEqual(m.options.execArgs, ['--base-url', demoB.url, '--force']);
  assert.equal(exactlyOnce(runDir, 60), null);
});

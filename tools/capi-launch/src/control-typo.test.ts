import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  demoFor,
  demoSuite,
  journalIds,
  readJson,
  runDirOf,
  sandboxes,
  until,
  workersOf,
} from './test-support/harness.js';

// The real capi-split and capi-exec against the demo API: a hand-edited control.json whose
// `rate` capi-exec does not take must not lift the run's rate limit (docs/run-folder.md).

const demo = demoFor(0);
const box = sandboxes(false);

interface Manifest {
  id: string;
  state: string;
  options: { rate: string | null };
}

const done = (runDir: string) => journalIds(runDir).size;

/** control.json replaced whole by hand (a rename: a worker never reads half of it). */
function editControl(runDir: string, change: Record<string, unknown>): void {
  const file = join(runDir, 'control.json');
  const next = { ...readJson<Record<string, unknown>>(file), ...change };
  writeFileSync(`${file}.edit`, JSON.stringify(next));
  renameSync(`${file}.edit`, file);
}

/**
 * Whether the tests done over some 1.5 s keep to 10/s: at most 10 a second of the time that
 * really passed (a loaded machine may wake this test late) plus a burst of 7; without a limit
 * the demo API answers the rest of the 150 at once.
 */
async function keepsTo10PerSecond(runDir: string): Promise<{ ok: boolean; said: string }> {
  const before = done(runDir);
  const t0 = performance.now();
  await sleep(1500);
  const n = done(runDir) - before;
  const seconds = (performance.now() - t0) / 1000;
  return { ok: n <= 10 * seconds + 7, said: `${n} tests in ${seconds.toFixed(2)} s` };
}

const log = (runDir: string) => readFileSync(join(runDir, 'logs/batch_0001.log'), 'utf8');

test('a control.json rate capi-exec does not take keeps the last one, also in a worker started after the edit', async () => {
  const b = await box();
  const suite = demoSuite(b.dir, 150);
  const r = await b.launch([suite, '--parallel', '1', '--batch-size', '150', '--rate', '10/s', '--base-url', demo.url]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const id = readJson<Manifest>(join(runDir, 'run.json')).id;
  await until('first results', () => done(runDir) >= 3);

  editControl(runDir, { rate: 'fast' });
  const first = await keepsTo10PerSecond(runDir);
  assert.ok(first.ok, `${first.said} after rate "fast": the limit was lifted`);
  await until('the worker says so', () => /"rate" "fast" is not taken/.test(log(runDir)));
  assert.match(
    log(runDir),
    /capi-exec: control\.json: "rate" "fast" is not taken .*: running at 10\/s \(the last rate taken, from control\.json\)\n/,
  );

  editControl(runDir, { rate: -3 });
  const third = await keepsTo10PerSecond(runDir);
  assert.ok(third.ok, `${third.said} after rate -3`);
  assert.equal(log(runDir).match(/is not taken/g)?.length, 2, 'said once per change, not at every read');

  // a worker that starts while control.json is bad: run.json's rate (the launch's --rate)
  const [worker] = workersOf(id, b.runs);
  assert.ok(worker, 'the worker process');
  process.kill(worker, 'SIGKILL');
  await until('a new worker', () => workersOf(id, b.runs).some((p) => p !== worker));
  await until('the new worker says so', () => /from run\.json's options\.rate/.test(log(runDir)));
  assert.match(
    log(runDir),
    /"rate" -3 is not taken .*: running at 10\/s \(the last rate taken, from run\.json's options\.rate\)/,
  );
  const started = await keepsTo10PerSecond(runDir);
  assert.ok(started.ok, `${started.said} in a worker started with a bad rate`);

  const status = await b.launch(['--set', 'concurrency=2', runDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(
    readJson<Manifest>(join(runDir, 'run.json')).options.rate,
    '10/s',
    "run.json's copy stays the rate taken",
  );

  assert.equal((await b.launch(['--set', 'rate=none', runDir])).code, 0);
  await until('run end', () => readJson<Manifest>(join(runDir, 'run.json')).state === 'completed', 30_000);
  assert.equal(done(runDir), 150);
  await until('supervisor gone', () => !existsSync(join(runDir, 'supervisor.pid')));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RunManifest, runExitCode, type StatusHeartbeat } from '@capi/core';
import { renderPlain } from './render-plain.js';
import { applyJournalLine, batchState, createRunState, type RunState, recordSample } from './run-state.js';
import { snapshot } from './snapshot.js';
import { execTarget } from './watch-target.js';

const T0 = Date.parse('2026-01-01T10:30:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function manifest(extra: Partial<RunManifest> = {}): RunManifest {
  return {
    id: 'capi_test_20260101_103000',
    method: 'tmux',
    suite: { file: '/abs/suite.csv', sha256: 'x' },
    total: 10,
    batchSize: 5,
    batches: 2,
    parallel: 2,
    options: {},
    created: at(0),
    pid: 4242,
    session: null,
    state: 'running',
    verdict: null,
    finished: null,
    ...extra,
  };
}

function hb(batch: string, extra: Partial<StatusHeartbeat> = {}): StatusHeartbeat {
  return {
    state: 'running',
    batch,
    total: 5,
    done: 0,
    passed: 0,
    failed: 0,
    errors: 0,
    skipped: 0,
    inFlight: [],
    rate: 2,
    pid: 5000,
    startedAt: at(0),
    updatedAt: at(30),
    ...extra,
  };
}

const line = (id: string, status: string, extra: object = {}) =>
  JSON.stringify({ id, name: `n-${id}`, status, ...extra });

/** A run with batch_0001 done (3 passed, 1 failed, 1 error) and batch_0002 at 1 of 5. */
function runState(extra: Partial<RunManifest> = {}): RunState {
  const state = createRunState({
    kind: 'run',
    id: 'capi_test_20260101_103000',
    dir: '/runs/capi_test_20260101_103000',
  });
  state.manifest = manifest(extra);
  state.alive.set(4242, true);
  state.alive.set(5000, true);
  for (const id of ['a', 'b', 'c']) applyJournalLine(state, 'batch_0001', line(id, 'passed'));
  applyJournalLine(
    state,
    'batch_0001',
    line('d', 'failed', { failures: [{ check: 'status', expected: '2xx', actual: '500' }] }),
  );
  applyJournalLine(state, 'batch_0001', line('e', 'error', { error: { code: 'ETIMEDOUT', message: 'timed out' } }));
  applyJournalLine(state, 'batch_0002', line('f', 'skipped'));
  batchState(state, 'batch_0001').hasJournal = true;
  batchState(state, 'batch_0002').hasJournal = true;
  batchState(state, 'batch_0001').heartbeat = hb('batch_0001', { state: 'completed', done: 5 });
  batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { done: 1, inFlight: ['g'] });
  return state;
}

const opts = { now: T0 + 40_000, stallAfterS: 60 };

test('a running run: counts from the journals, state, ETA from the heartbeat rates', () => {
  const s = snapshot(runState(), opts);
  assert.equal(s.state, 'RUNNING');
  assert.deepEqual([s.total, s.done, s.passed, s.failed, s.errors, s.skipped], [10, 6, 3, 1, 1, 1]);
  assert.equal(s.percent, 60);
  assert.equal(s.passRate, 60);
  assert.equal(s.rate, 2);
  assert.equal(s.etaS, 2);
  assert.equal(s.elapsedS, 40);
  assert.equal(s.exitCode, null);
  assert.equal(s.ended, false);
  assert.equal(s.pid, 4242);
  assert.equal(s.batches[0]?.batch, 'batch_0002');
  assert.equal(s.batches[0]?.current, 'g');
  assert.deepEqual(s.batchStates, { completed: 1, running: 1 });
});

test('failures arrive in order and the filter picks failed or errors', () => {
  const state = runState();
  assert.deepEqual(
    snapshot(state, opts).failures.map((f) => [f.n, f.id, f.detail]),
    [
      [1, 'd', 'status: expected 2xx, got 500'],
      [2, 'e', 'ETIMEDOUT: timed out'],
    ],
  );
  assert.deepEqual(
    snapshot(state, { ...opts, failureFilter: 'errors' }).failures.map((f) => f.id),
    ['e'],
  );
  assert.deepEqual(
    snapshot(state, { ...opts, failureFilter: 'failed' }).failures.map((f) => f.id),
    ['d'],
  );
});

test('STALLED when no running heartbeat moved within the limit; paused batches are not stalled', () => {
  const state = runState();
  const s = snapshot(state, { now: T0 + 95_000, stallAfterS: 60 });
  assert.equal(s.state, 'STALLED');
  assert.equal(s.stalledS, 65);
  // The supervisor lives, and capi-launch refuses to resume a live run: stop it first.
  assert.equal(
    s.resume,
    'capi-launch --stop capi_test_20260101_103000 && capi-launch --resume capi_test_20260101_103000',
  );
  assert.equal(s.exitCode, null);
  assert.equal(s.batches[0]?.state, 'STALLED');
  batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { state: 'paused' });
  assert.equal(snapshot(state, { now: T0 + 95_000, stallAfterS: 60 }).state, 'PAUSED');
});

test('DEAD when the supervisor pid is gone and the run is not finished: exit 3', () => {
  const state = runState();
  state.alive.set(4242, false);
  const s = snapshot(state, opts);
  assert.equal(s.state, 'DEAD');
  assert.equal(s.exitCode, 3);
  assert.match(renderPlain(s), /^Resume: capi-launch --resume capi_test_20260101_103000$/m);
});

test("the exit code is the run's verdict once it ended", () => {
  assert.equal(snapshot(runState({ state: 'completed', verdict: 'passed' }), opts).exitCode, 0);
  assert.equal(snapshot(runState({ state: 'completed', verdict: 'failed' }), opts).exitCode, 1);
  assert.equal(snapshot(runState({ state: 'completed' }), opts).exitCode, 1, 'no verdict yet: the counts');
  assert.equal(snapshot(runState({ state: 'failed' }), opts).exitCode, 3);
  const stopped = snapshot(runState({ state: 'stopped', finished: at(20) }), opts);
  assert.equal(stopped.state, 'STOPPED');
  assert.equal(stopped.elapsedS, 20);
  assert.equal(stopped.etaS, null);
  // core's one rule, the number capi-launch --wait gives for the same run
  assert.equal(stopped.exitCode, 143, 'stopped: 143, as capi-launch says, not 0 or 1 from the counts');
  const sigint = snapshot(runState({ state: 'stopped', stopSignal: 'SIGINT' }), opts);
  assert.equal(sigint.exitCode, 130);
  assert.equal(snapshot(runState({ state: 'failed', verdict: 'failed' }), opts).exitCode, 3, 'a given-up batch');
  for (const m of [{ state: 'completed', verdict: 'passed' }, { state: 'stopped' }, { state: 'failed' }] as const)
    assert.equal(snapshot(runState(m), opts).exitCode, runExitCode({ ...m, verdict: null, alive: false, ...m }));
});

test('the rate comes from the samples once they span two seconds', () => {
  const state = runState();
  recordSample(state, T0);
  for (let i = 0; i < 4; i++) applyJournalLine(state, 'batch_0002', line(`x${i}`, 'passed'));
  recordSample(state, T0 + 2000);
  assert.equal(snapshot(state, opts).rate, 2);
  assert.deepEqual(state.series, [2]);
});

test('a bare capi-exec: state from its heartbeat, DEAD from its pid', () => {
  const state = createRunState(execTarget('results', ['/x/status.json'], ['/x/results.ndjson'], []));
  batchState(state, 'exec').heartbeat = hb('b1', { total: 4, pid: 777 });
  batchState(state, 'exec').hasJournal = true;
  applyJournalLine(state, 'exec', line('a', 'passed'));
  state.alive.set(777, true);
  let s = snapshot(state, opts);
  assert.deepEqual([s.state, s.method, s.total, s.done, s.pid], ['RUNNING', 'exec', 4, 1, 777]);
  const stalled = snapshot(state, { now: T0 + 95_000, stallAfterS: 60 });
  assert.equal(stalled.state, 'STALLED');
  assert.match(
    stalled.resume ?? '',
    /^kill 777, then run the same capi-exec command again with --journal \/x\/results\.ndjson/,
  );
  state.alive.set(777, false);
  s = snapshot(state, opts);
  assert.equal(s.state, 'DEAD');
  assert.match(s.resume ?? '', /^run the same capi-exec command again with --journal \/x\/results\.ndjson/);
  batchState(state, 'exec').heartbeat = hb('b1', { state: 'completed', pid: 777 });
  assert.deepEqual([snapshot(state, opts).state, snapshot(state, opts).exitCode], ['COMPLETED', 0]);
  // a failed teardown row fails the run, by core's one rule, as capi-exec's exit 1 says
  applyJournalLine(state, 'exec', JSON.stringify({ id: 'bye', name: 'bye', status: 'failed', phase: 'teardown' }));
  assert.deepEqual([snapshot(state, opts).done, snapshot(state, opts).exitCode], [1, 1]);
  applyJournalLine(state, 'exec', JSON.stringify({ id: 'bye', name: 'bye', status: 'passed', phase: 'teardown' }));
  assert.equal(snapshot(state, opts).exitCode, 0, 'a resume whose teardown passed');
});

test('journal lines that are not result records are counted, not fatal', () => {
  const state = runState();
  applyJournalLine(state, 'batch_0002', '{"id":"z","status":"weird"}');
  applyJournalLine(state, 'batch_0002', 'not json');
  const s = snapshot(state, opts);
  assert.equal(s.badLines, 2);
  assert.equal(s.done, 6);
  assert.match(renderPlain(s), /Warning: 2 journal lines are not result records/);
});

test('the plain block is the guide monitor, without escape codes', () => {
  process.env.TZ = 'UTC';
  const text = renderPlain(snapshot(runState(), opts));
  assert.ok(!text.includes('\u001b'), 'no escape codes');
  for (const expected of [
    'Execution Method: tmux',
    'Test File: /abs/suite.csv',
    'Process ID: 4242',
    'Status: RUNNING',
    'Elapsed: 40.0s',
    'Tests Completed: 6 / 10',
    `Progress: [${'#'.repeat(22)}${'-'.repeat(14)}] 60.0%`,
    'Passed: 3  Failed: 1  Errors: 1  Skipped: 1',
    'Rate: 2.0 tests/second',
    'ETA: 2.0s',
    'Log File: /runs/capi_test_20260101_103000/logs/capi.log',
    'View logs: tail -f /runs/capi_test_20260101_103000/logs/capi.log',
  ])
    assert.ok(text.split('\n').includes(expected), `missing line: ${expected}\n${text}`);
});

test('no live batch while the supervisor lives: FINISHING once every test has a result, else RUNNING; never PAUSED', () => {
  const state = runState();
  for (const id of ['g', 'h', 'i', 'j']) applyJournalLine(state, 'batch_0002', line(id, 'passed'));
  batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { state: 'completed', done: 5 });
  let s = snapshot(state, opts);
  assert.deepEqual([s.state, s.done, s.exitCode, s.ended], ['FINISHING', 10, null, false]);
  // Between two batches (one done, the next not started yet): still running.
  const between = runState();
  batchState(between, 'batch_0002').heartbeat = hb('batch_0002', { state: 'completed', done: 1 });
  assert.equal(snapshot(between, opts).state, 'RUNNING');
  // A worker that died without a final heartbeat is not live either.
  const gone = runState();
  gone.alive.set(5000, false);
  assert.equal(snapshot(gone, opts).state, 'RUNNING');
  s = snapshot(runState(), opts);
  assert.equal(s.state, 'RUNNING');
});

test('PAUSED: every live batch paused, or control.json says paused', () => {
  const state = runState();
  assert.equal(snapshot(state, opts).state, 'RUNNING');
  state.controlPaused = true;
  assert.equal(snapshot(state, opts).state, 'PAUSED', 'control.json paused: in-flight tests may still finish');
  state.controlPaused = false;
  batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { state: 'paused', done: 1 });
  assert.equal(snapshot(state, opts).state, 'PAUSED');
});

test('PAUSED: rate 0 and no ETA, whatever the samples or the average say', () => {
  const state = runState();
  recordSample(state, T0);
  for (let i = 0; i < 4; i++) applyJournalLine(state, 'batch_0002', line(`x${i}`, 'passed'));
  recordSample(state, T0 + 2000);
  batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { state: 'paused', done: 5 });
  const s = snapshot(state, opts);
  assert.deepEqual([s.state, s.rate, s.etaS], ['PAUSED', 0, null]);
  const text = renderPlain(s);
  assert.match(text, /^Rate: 0\.0 tests\/second$/m);
  assert.match(text, /^ETA: -$/m);
  // Nothing sampled (--summary): the average would say 10 tests / 40 s.
  const fresh = runState();
  fresh.controlPaused = true;
  assert.deepEqual([snapshot(fresh, opts).rate, snapshot(fresh, opts).etaS], [0, null]);
});

test('elapsed of a DEAD run stops at its last heartbeat; of a stopped run, at finished or when run.json was written', () => {
  const dead = runState();
  dead.alive.set(4242, false);
  for (const now of [T0 + 40_000, T0 + 4_000_000]) {
    const s = snapshot(dead, { now, stallAfterS: 60 });
    assert.deepEqual([s.state, s.elapsedS, s.etaS], ['DEAD', 30, null]);
  }
  const stopped = runState({ state: 'stopped', finished: null });
  stopped.manifestMtimeMs = T0 + 50_000;
  const s = snapshot(stopped, { now: T0 + 4_000_000, stallAfterS: 60 });
  assert.deepEqual([s.state, s.elapsedS, s.etaS], ['STOPPED', 50, null]);
  assert.equal(s.rate, 6 / 50, 'an ended run: the average');
});

test("the verdict is only run.json's; the success rate is over the results until the run completes", () => {
  const stopped = snapshot(runState({ state: 'stopped', finished: at(20) }), opts);
  assert.deepEqual([stopped.state, stopped.verdict, stopped.remaining], ['STOPPED', null, 4]);
  assert.equal(stopped.passRate, 60, '3 passed of 5 with a result; the 4 remaining do not count');
  assert.doesNotMatch(renderPlain(stopped), /Verdict/);
  assert.equal(snapshot(runState(), opts).passRate, 60);
  const completed = snapshot(runState({ state: 'completed' }), opts);
  assert.equal(completed.verdict, null, 'completed, not merged yet: no verdict');
  assert.equal(completed.passRate, (3 / 9) * 100, 'a completed run: its 4 missing tests count');
  const merged = snapshot(runState({ state: 'completed', verdict: 'failed' }), opts);
  assert.match(renderPlain(merged), /^Verdict: FAILED$/m);
  const exec = createRunState(execTarget('results', ['/x/status.json'], ['/x/results.ndjson'], []));
  batchState(exec, 'exec').heartbeat = hb('b1', { state: 'completed', total: 1, pid: 777 });
  batchState(exec, 'exec').hasJournal = true;
  applyJournalLine(exec, 'exec', line('a', 'failed'));
  const s = snapshot(exec, opts);
  assert.deepEqual([s.state, s.verdict, s.exitCode], ['COMPLETED', null, 1]);
});

test('a batch paused by the API shows until when; a pause over, or of a finished batch, does not', () => {
  const state = runState();
  const paused = (until: string) => {
    batchState(state, 'batch_0002').heartbeat = hb('batch_0002', { done: 1, pausedUntil: until });
    return snapshot(state, opts);
  };
  const s = paused(at(100));
  assert.equal(s.apiPausedUntil, at(100));
  assert.match(renderPlain(s), /^Status: RUNNING \(paused by the API until \d\d:\d\d:\d\d\)$/m);
  assert.equal(paused(at(20)).apiPausedUntil, null);
  batchState(state, 'batch_0001').heartbeat = hb('batch_0001', { state: 'completed', done: 5, pausedUntil: at(500) });
  assert.equal(paused(at(100)).apiPausedUntil, at(100));
  assert.doesNotMatch(renderPlain(snapshot(runState(), opts)), /paused by the API/);
});

test('capi-launch --hosts: results counted per host as they arrive, shown by --plain and --summary', () => {
  const state = runState();
  assert.deepEqual(snapshot(state, opts).hosts, []);
  assert.doesNotMatch(renderPlain(snapshot(state, opts)), /Hosts:/);
  applyJournalLine(state, 'batch_0002', line('g', 'passed', { shard: null, host: 'alpha' }));
  applyJournalLine(state, 'batch_0002', line('h', 'failed', { host: 'ci@bravo:2222', failures: [] }));
  applyJournalLine(state, 'batch_0002', line('i', 'passed', { host: 'ci@bravo:2222' }));
  // a host name is text from another machine: shown cleaned of escape sequences
  applyJournalLine(
    state,
    'batch_0002',
    line('j', 'error', { host: 'evil\u001b[2J', error: { code: 'X', message: 'y' } }),
  );
  const s = snapshot(state, opts);
  assert.deepEqual(
    s.hosts.map((h) => [h.host, h.done, h.passed, h.failed, h.errors]),
    [
      ['alpha', 1, 1, 0, 0],
      ['ci@bravo:2222', 2, 1, 1, 0],
      ['evil', 1, 0, 0, 1],
    ],
  );
  const text = renderPlain(s);
  assert.match(
    text,
    /Hosts:\n {2}alpha {10}1 done {2}Passed: 1 {2}Failed: 0 {2}Errors: 0\n {2}ci@bravo:2222 {2}2 done/,
  );
  assert.equal(text.includes('\u001b'), false);
});

test("the rate limit in force: control.json's rate as the workers take it, else run.json's copy; one not taken is said", () => {
  const shown = (control: unknown, rate: string | null | undefined) => {
    const state = runState({ options: rate === undefined ? {} : { rate } });
    state.control = control;
    const s = snapshot(state, opts);
    return {
      json: s.rateLimit,
      plain: renderPlain(s)
        .split('\n')
        .filter((l) => l.startsWith('Rate Limit: ')),
    };
  };
  const good = shown({ paused: false, rate: '200/s', concurrency: null, workers: 2 }, '50/s');
  assert.deepEqual(good.json, { rate: '200/s', perSecond: 200, notTaken: [], text: 'limit 200/s' });
  assert.deepEqual(good.plain, ['Rate Limit: 200/s']);
  assert.deepEqual(shown({ rate: null, workers: 2 }, '50/s').plain, ['Rate Limit: no limit']);
  // control.json missing, or never read: run.json's copy
  assert.deepEqual(shown(undefined, '50/s').plain, ['Rate Limit: 50/s']);
  assert.deepEqual(shown(undefined, undefined).plain, ['Rate Limit: no limit']);
  const bad = shown({ rate: 'fast', workers: 2 }, '200/s');
  assert.deepEqual(bad.json, {
    rate: '200/s',
    perSecond: 200,
    notTaken: ['rate'],
    text: 'control.json rate "fast" not taken; 200/s in force',
  });
  assert.deepEqual(bad.plain, ['Rate Limit: control.json rate "fast" not taken; 200/s in force']);
  // a bare capi-exec's own --rate is in none of its files: nothing said
  const exec = createRunState(execTarget('results', ['/x/status.json'], [], []));
  exec.control = { rate: 'fast' };
  batchState(exec, 'exec').heartbeat = hb('exec');
  const s = snapshot(exec, opts);
  assert.equal(s.rateLimit, null);
  assert.ok(!renderPlain(s).includes('Rate Limit'));
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { binPath, collect, testEnv } from '@capi/testkit';
import { exactlyOnce, isAlive, readJson, runDirOf, sandboxes, until, workersOf } from './test-support/harness.js';

// Supervision with the stand-in split and exec (libs/launch/src/test-support): they can be
// killed, slowed and made to fail on purpose. Real-tool runs are in e2e.test.ts.

const box = sandboxes(true);

interface Claim {
  batch: string;
  pid: number;
  state: string;
}
/** The claims written so far (one being created may still be empty). */
const claims = (runDir: string): Claim[] =>
  readdirSync(join(runDir, 'claims')).flatMap((f) => {
    try {
      return [readJson<Claim>(join(runDir, 'claims', f))];
    } catch {
      return [];
    }
  });

test('--foreground runs every batch with N workers and exits with the verdict', async () => {
  const b = await box();
  const suite = b.suite(45);
  const r = await b.launch([suite, '--foreground', '--parallel', '3', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, 'latest');
  const m = readJson<{ state: string; verdict: string; total: number; batches: number; pid: null }>(
    join(runDir, 'run.json'),
  );
  assert.deepEqual([m.state, m.verdict, m.total, m.batches, m.pid], ['completed', 'passed', 45, 5, null]);
  assert.equal(exactlyOnce(runDir, 45), null);
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  const workers = new Set(claims(runDir).map((c) => (c as unknown as { worker: number }).worker));
  assert.equal(workers.size, 3, 'three workers took batches');
  const st = await b.launch(['--status', '--json']);
  const row = JSON.parse(st.stdout) as Record<string, unknown>;
  assert.deepEqual(
    [row.state, row.verdict, row.total, row.done, row.passed, row.alive],
    ['completed', 'passed', 45, 45, 45, false],
  );
  const failing = await b.launch([suite, '--foreground', '--batch-size', '10'], { env: { FAKE_EXEC_FAIL: 'T0007' } });
  assert.equal(failing.code, 1, failing.stderr);
});

test('a launch prints the run, its log and the commands, returns at once; --wait gives the verdict', async () => {
  // slow enough (about 4 s) that the run is still live when --resume is tried on a loaded machine
  const b = await box({ FAKE_EXEC_DELAY_MS: '200' });
  const suite = b.suite(40);
  const r = await b.launch([suite, '--parallel', '2', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  assert.match(r.stdout, /^run capi_test_\d{8}_\d{6}(_\d+)? started \(nohup, supervisor pid \d+\)/);
  for (const word of ['log:', 'logs/capi.log', 'watch:   capi-watch', 'stop:    capi-launch --stop', 'resume:'])
    assert.ok(r.stdout.includes(word), `${word} in ${r.stdout}`);
  const w = await b.launch(['--resume', runDir, '--wait']).catch(() => null);
  // the run is live: resume is refused and names it
  assert.equal(w?.code, 2);
  assert.match(w?.stderr ?? '', /still running/);
  await until('run end', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'completed');
  const failed = await b.launch([suite, '--wait', '--batch-size', '10'], { env: { FAKE_EXEC_FAIL: 'T0003' } });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /run ended: exit 1/);
  assert.ok(!failed.stderr.includes('\u001b['), 'plain lines without a TTY');
});

test('a second launch of the same suite (also through a symlink) is refused while the first is live; --force allows it', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '200' });
  const suite = b.suite(40);
  const first = await b.launch([suite, '--parallel', '1', '--batch-size', '20']);
  assert.equal(first.code, 0, first.stderr);
  const id = /run (capi_test_\S+)/.exec(first.stdout)?.[1] as string;
  const second = await b.launch([suite]);
  assert.equal(second.code, 2);
  assert.ok(second.stderr.includes(`run ${id} of suite.csv is still live`), second.stderr);
  assert.equal(readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')).length, 1, 'no second folder');
  // the same file by another name: compared by its real path
  const alias = join(b.dir, 'alias.csv');
  symlinkSync('suite.csv', alias);
  const viaLink = await b.launch([alias]);
  assert.equal(viaLink.code, 2, viaLink.stderr);
  assert.ok(viaLink.stderr.includes(`run ${id} of alias.csv is still live`), viaLink.stderr);
  assert.equal(readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')).length, 1, 'no second folder');
  const forced = await b.launch([suite, '--force', '--parallel', '1', '--batch-size', '20']);
  assert.equal(forced.code, 0, forced.stderr);
  for (const dir of [runDirOf(first.stdout), runDirOf(forced.stdout)]) {
    const s = await b.launch(['--stop', dir, '--force']);
    assert.equal(s.code, 0, s.stderr);
  }
});

test('kill -9 of a worker: it is replaced and every id is in the results exactly once', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '40' });
  const suite = b.suite(120);
  const r = await b.launch([suite, '--parallel', '3', '--batch-size', '20']);
  const runDir = runDirOf(r.stdout);
  const victim = await until('a worker with results', () => {
    const c = claims(runDir).find((x) => x.state === 'running' && x.pid);
    return c && existsSync(join(runDir, 'results', `${c.batch}.ndjson`)) ? c : null;
  });
  process.kill(victim.pid, 'SIGKILL');
  const w = await b.launch(['--status', runDir]);
  assert.equal(w.code, 0);
  await until('run end', () => readJson<{ state: string }>(join(runDir, 'run.json')).state !== 'running', 30_000);
  const m = readJson<{ state: string; verdict: string }>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.verdict], ['completed', 'passed']);
  assert.equal(exactlyOnce(runDir, 120), null);
  assert.match(
    readFileSync(join(runDir, 'logs/capi.log'), 'utf8'),
    new RegExp(`${victim.batch} died \\(killed by SIGKILL\\); restart 1/3`),
  );
});

test('a worker that keeps dying is given up after --max-restarts: state failed, exit 3, the rest runs', async () => {
  const b = await box({ FAKE_EXEC_CRASH_BATCH: 'batch_0002' });
  const suite = b.suite(30);
  const r = await b.launch([suite, '--foreground', '--batch-size', '10', '--max-restarts', '1']);
  assert.equal(r.code, 3, r.stderr);
  const runDir = join(b.runs, 'latest');
  assert.ok(existsSync(join(runDir, 'run.json')), r.stderr);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'failed');
  assert.match(r.stderr, /batch_0002 given up after 1 restart\(s\)/);
  const ids = readFileSync(join(runDir, 'results/batch_0003.ndjson'), 'utf8').trim().split('\n');
  assert.equal(ids.length, 10, 'the other batches still ran');
});

test('--stop then --resume, and kill -9 of the supervisor then --resume: each id exactly once', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '80' });
  const suite = b.suite(100);
  const r = await b.launch([suite, '--parallel', '2', '--batch-size', '25']);
  const runDir = runDirOf(r.stdout);
  await until('some results', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  const stop = await b.launch(['--stop', runDir]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'stopped');
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  const resumed = await b.launch(['--resume', runDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const pid = await until('new supervisor', () => {
    try {
      return Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8'));
    } catch {
      return null;
    }
  });
  await until('more results', () => existsSync(join(runDir, 'results/batch_0003.ndjson')));
  // paused, the workers stay alive after their supervisor is killed: resume must stop them
  assert.equal((await b.launch(['--pause', runDir])).code, 0);
  process.kill(pid, 'SIGKILL');
  const orphans = claims(runDir).filter((c) => c.state === 'running');
  assert.ok(orphans.length > 0);
  // --status only reads: the run is not over while its workers live, and it says so
  const st = await b.launch(['--status', runDir]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /dead \(supervisor gone, \d workers? still running\) .* not running/);
  assert.match(st.stderr, /the supervisor is gone but \d of its workers still run tests: capi-launch --stop/);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'running', '--status wrote nothing');
  assert.ok(existsSync(join(runDir, 'supervisor.pid')));
  // an orphan whose batch's last test was in flight at the pause ends its batch (its claim
  // done), asks its dead supervisor for the next and exits: the count (live pids of running
  // claims) is read between two counts of its own
  const liveOrphans = () => claims(runDir).filter((c) => c.state === 'running' && isAlive(c.pid)).length;
  const atMost = liveOrphans();
  const json = JSON.parse((await b.launch(['--status', runDir, '--json'])).stdout) as Record<string, unknown>;
  const atLeast = liveOrphans();
  assert.deepEqual([json.state, json.alive], ['dead', false]);
  assert.ok(
    typeof json.workers === 'number' && json.workers <= atMost && json.workers >= atLeast,
    `${json.workers} workers, ${atMost} then ${atLeast} live`,
  );
  const second = await b.launch([suite]);
  assert.equal(second.code, 2, 'a launch of the same suite waits for those workers too');
  assert.match(second.stderr, /is still live \(supervisor gone, \d workers? still running\)/);
  const again = await b.launch(['--resume', runDir]);
  assert.equal(again.code, 0, again.stderr);
  // the new supervisor holds the run first, then stops the orphans: not done when --resume returns
  await until('orphans stopped', () => orphans.every((o) => !isAlive(o.pid)), 20_000);
  assert.equal((await b.launch(['--continue', runDir])).code, 0);
  await until('run end', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'completed', 30_000);
  assert.equal(exactlyOnce(runDir, 100), null);
  assert.match(
    readFileSync(join(runDir, 'logs/capi.log'), 'utf8'),
    /stopping \d worker\(s\) left by the previous supervisor/,
  );
});

test('a worker that exits 1 without finishing its batch (a crash) is restarted, not counted as done', async () => {
  const b = await box({ FAKE_EXEC_QUIT_BATCH: 'batch_0002' });
  const r = await b.launch([b.suite(30), '--foreground', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /batch_0002 ended \(exit 1\) with 2\/10 results/);
  assert.match(r.stderr, /batch_0002 died \(exit 1\); restart 1\/3/);
  assert.equal(exactlyOnce(join(b.runs, 'latest'), 30), null);
});

test('SIGHUP (terminal closed) on --foreground: a graceful stop like SIGTERM, logged to capi.log only', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  // its own process group, as a terminal's foreground job: the hangup goes to the whole group
  const child = spawn(
    process.execPath,
    [binPath('capi-launch'), b.suite(200), '--foreground', '--parallel', '2', '--batch-size', '50'],
    { env: testEnv(b.env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ended = collect(child, { timeoutMs: 30_000 });
  const runDir = join(b.runs, 'latest');
  await until('results of both workers', () =>
    ['batch_0001', 'batch_0002'].every((x) => existsSync(join(runDir, 'results', `${x}.ndjson`))),
  );
  // the terminal is gone: writing to it fails from now on (EPIPE here, EIO on a tty)
  child.stdout?.destroy();
  child.stderr?.destroy();
  process.kill(-(child.pid as number), 'SIGHUP');
  const r = await ended;
  assert.equal(r.code, 143, `exit ${r.code} ${r.signal}`);
  const m = readJson<{ state: string; pid: number | null }>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.pid], ['stopped', null]);
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  assert.deepEqual(claims(runDir), [], 'claims released for the resume');
  const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
  assert.match(log, /SIGHUP: stopping 2 worker\(s\); in-flight tests finish \(terminal closed/);
  // the workers were not hung up on: each finished its test in flight and exited 143
  assert.equal(log.match(/stopped \(exit 143\)/g)?.length, 2, log);
  assert.match(log, /run stopped by SIGHUP; resume it with capi-launch --resume/);
  const again = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(exactlyOnce(runDir, 200), null);
});

test('a worker whose heartbeat stands still (frozen) is killed after --stall-timeout and its batch goes to a fresh worker', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '40' });
  // 5 s: the heartbeat (every second, as capi-exec's) of a busy worker on a loaded machine is never that late
  const r = await b.launch([b.suite(100), '--parallel', '2', '--batch-size', '50', '--stall-timeout', '5']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const frozen = await until('a worker with results', () => {
    const c = claims(runDir).find((x) => x.batch === 'batch_0001' && x.state === 'running' && x.pid);
    return c && existsSync(join(runDir, 'results/batch_0001.ndjson')) ? c : null;
  });
  process.kill(frozen.pid, 'SIGSTOP');
  await until('run end', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'completed', 60_000);
  const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
  assert.match(
    log,
    new RegExp(`batch_0001 stalled: no heartbeat or result for 5 s \\(--stall-timeout\\); killing pid ${frozen.pid}`),
  );
  assert.match(log, /batch_0001 died \(stalled, killed\); restart 1\/3/);
  assert.equal(isAlive(frozen.pid), false);
  assert.equal(exactlyOnce(runDir, 100), null);
});

test('a supervisor that fails waits for its workers to end before it lets go of the run', async () => {
  // a slow test each: a worker told to stop is still busy with its test in flight
  const b = await box({ FAKE_EXEC_DELAY_MS: '2000' });
  const running = b.launch([b.suite(20), '--foreground', '--parallel', '2', '--batch-size', '5']);
  const runDir = join(b.runs, 'latest');
  const journal = join(runDir, 'results/batch_0002.ndjson');
  const results = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0);
  await until('a result of batch_0002', () => results() > 0);
  const victim = claims(runDir).find((c) => c.batch === 'batch_0001' && c.state === 'running') as Claim;
  const id = readJson<{ id: string }>(join(runDir, 'run.json')).id;
  // right after batch_0002's worker began a test: it is busy for 2 s more
  const seen = results();
  await until('the next result of batch_0002', () => results() > seen, 10_000);
  // the claims folder turns into a file: the restart of the killed worker cannot write its claim
  rmSync(join(runDir, 'claims'), { recursive: true });
  writeFileSync(join(runDir, 'claims'), '');
  process.kill(victim.pid, 'SIGKILL');
  // the moment the supervisor lets go of the run (its pid file), no worker of it may be left
  let left: number[] | null = null;
  const watching = (async () => {
    while (left === null) {
      if (!existsSync(join(runDir, 'supervisor.pid'))) left = workersOf(id, b.runs);
      else await sleep(20);
    }
  })();
  const r = await running;
  await watching;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /supervisor failed: /);
  assert.deepEqual(left, [], 'the pid file outlived no worker of the run');
  assert.deepEqual(workersOf(id, b.runs), []);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'failed');
  assert.match(readFileSync(join(runDir, 'logs/capi.log'), 'utf8'), /batch_0002 stopped \(exit 143\)/);
});

test("a batch given up by capi-exec (exit 3) is explained by quoting its log's last line, not by a guess", async () => {
  const b = await box({ FAKE_EXEC_GIVEUP_BATCH: 'batch_0002' });
  const r = await b.launch([b.suite(30), '--foreground', '--batch-size', '10', '--parallel', '1']);
  assert.equal(r.code, 3, r.stderr);
  const quoted = 'capi-exec: target unreachable: connect ECONNREFUSED 127.0.0.1:9';
  assert.ok(r.stderr.includes(`batch_0002 (exit 3): ${quoted}`), r.stderr);
  const log = readFileSync(join(b.runs, 'latest', 'logs/capi.log'), 'utf8');
  assert.ok(log.includes(`batch_0002 given up: capi-exec exit 3: "${quoted}"`), log);
  assert.match(r.stderr, /`capi-launch --resume \S+` goes on from the journals/);
});

test('--wait when the supervisor is killed: stderr says it ended without an end, quotes its log and how to resume', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const waiting = b.launch([b.suite(100), '--parallel', '1', '--batch-size', '50', '--wait']);
  const runDir = join(b.runs, 'latest');
  const pid = await until('the supervisor', () => {
    try {
      return Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8')) || null;
    } catch {
      return null;
    }
  });
  await until('a result', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  process.kill(pid, 'SIGKILL');
  const r = await waiting;
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `the supervisor \\(pid ${pid}\\) ended without writing an end \\(killed\\?\\); the last line of \\S+capi.log: worker 1: batch_0001 started`,
    ),
  );
  assert.match(r.stderr, /`capi-launch --resume \S+` goes on from the journals/);
});

test('--wait when the supervisor fails with an error it can record: run.json failed, stderr quotes the error', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await b.launch([b.suite(40), '--parallel', '1', '--batch-size', '20']);
  const runDir = runDirOf(r.stdout);
  await until('a result', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  rmSync(join(runDir, 'batches/index.json'));
  const again = await b.launch(['--resume', runDir, '--wait']);
  assert.equal(again.code, 3, again.stderr);
  assert.match(again.stderr, /failed: supervisor failed: \S+index\.json: no batch index/);
  assert.match(again.stderr, /`capi-launch --resume \S+` goes on from the journals/);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'failed');
  assert.doesNotMatch(readFileSync(join(runDir, 'logs/capi.log'), 'utf8'), /^\s+at /m, 'no stack in the log');
});

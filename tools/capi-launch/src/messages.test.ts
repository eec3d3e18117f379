import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, collect, testEnv } from '@capi/testkit';
import { fakeExec, isAlive, journalIds, readJson, runDirOf, sandboxes, until } from './test-support/harness.js';

// What capi-launch says: help, bad suite rows, --monitor after capi-watch ends.

const box = sandboxes(true);
const runIds = (runs: string) => (existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith('capi_test_')) : []);

test('--help: --wait lists the exit codes of a stopped run too', async () => {
  const b = await box();
  const r = await b.launch(['--help']);
  assert.equal(r.code, 0, r.stderr);
  // --help wraps descriptions at 100 columns: compare the words
  assert.match(
    r.stdout.replace(/\s+/g, ' '),
    /--wait after launching, wait for the end and exit with its code: 0 passed, 1 tests failed, 3 given up, 143 stopped/,
  );
});

const BAD =
  'id,url,expect_status\nT1,/items/1,200\nT2,/items/2,abc\nT3,/items/3,xyz\nT1,/items/4,200\nT5,/items/5,200\n';

test('bad suite rows: the first is named with a hint; --lenient skips every one, naming each on stderr and in capi.log', async () => {
  const b = await box({ CAPI_EXEC_BIN: fakeExec }, false);
  writeFileSync(join(b.dir, 'bad.csv'), BAD);
  const strict = await b.launch(['bad.csv', '--foreground'], { cwd: b.dir });
  assert.equal(strict.code, 2, strict.stderr);
  assert.match(
    strict.stderr,
    /splitting bad\.csv: .*bad\.csv:3: field "expect_status": .*\(the first bad row; --lenient skips bad rows and names each\)/,
  );
  assert.deepEqual(runIds(b.runs), []);
  const lenient = await b.launch(['bad.csv', '--foreground', '--lenient'], { cwd: b.dir });
  assert.equal(lenient.code, 0, lenient.stderr);
  for (const line of [3, 4, 5])
    assert.match(lenient.stderr, new RegExp(`capi-launch: warning: \\S*bad\\.csv:${line}: .*\\(row skipped\\)`));
  assert.match(lenient.stderr, /capi-launch: skipped 3 bad rows/);
  const [id] = runIds(b.runs);
  const runDir = join(b.runs, id as string);
  assert.equal(readJson<{ total: number }>(join(runDir, 'run.json')).total, 2);
  const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
  assert.match(log, /capi-split: warning: \S*bad\.csv:5: duplicate id "T1"/);
});

/** A stand-in capi-watch that exits 1 at once, or once the run has ended (as `q` on an ended run). */
function standInWatch(dir: string, waitForEnd: boolean): string {
  const file = join(dir, `watch-${waitForEnd ? 'end' : 'now'}.mjs`);
  writeFileSync(
    file,
    `import { existsSync, readFileSync } from 'node:fs';
const run = process.argv[2];
const ended = () => !existsSync(run + '/supervisor.pid') && /"state": "(completed|failed|stopped)"/.test(readFileSync(run + '/run.json', 'utf8'));
const until = Date.now() + 30000;
while (${waitForEnd} && !ended() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
process.exit(1);
`,
  );
  return file;
}

test('--monitor: capi-watch quit on an ended run gives the run code and claims to follow nothing; quit early, the run is followed', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20', FAKE_EXEC_FAIL: 'T0002' });
  const ended = await b.launch([b.suite(20), '--monitor'], { env: { CAPI_WATCH_BIN: standInWatch(b.dir, true) } });
  assert.equal(ended.code, 1, ended.stderr);
  assert.doesNotMatch(ended.stderr, /following/);
  assert.match(ended.stderr, /run ended: exit 1/);
  const early = await b.launch([b.suite(20, 'two.csv'), '--monitor'], {
    env: { CAPI_WATCH_BIN: standInWatch(b.dir, false), FAKE_EXEC_DELAY_MS: '100' },
  });
  assert.equal(early.code, 1, early.stderr);
  assert.match(early.stderr, /capi-watch ended \(exit 1\) while the run goes on; following it here until it ends/);
});

test('a suite without an id column: refused with the advice of --auto-id, which launches it, and every later split keeps it', async () => {
  const b = await box({ CAPI_EXEC_BIN: fakeExec, FAKE_EXEC_FAIL: 'row-3' }, false);
  const suite = join(b.dir, 'noid.csv');
  writeFileSync(suite, 'name,url\nfirst,/a\nsecond,/b\nthird,/c\n');
  const r = await b.launch(['noid.csv', '--foreground'], { cwd: b.dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /or use --auto-id to number rows/);
  assert.deepEqual(runIds(b.runs), []);
  const plan = await b.launch(['noid.csv', '--dry-run', '--auto-id'], { cwd: b.dir });
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /capi-split\S* \S*noid\.csv --batch-size \d+ .*--auto-id/);
  const ok = await b.launch(['noid.csv', '--foreground', '--auto-id'], { cwd: b.dir });
  assert.equal(ok.code, 1, ok.stderr);
  const runDir = join(b.runs, runIds(b.runs)[0] as string);
  assert.equal(readJson<{ options: { autoId?: boolean } }>(join(runDir, 'run.json')).options.autoId, true);
  assert.deepEqual([...journalIds(runDir).keys()].sort(), ['row-2', 'row-3', 'row-4']);
  // the suite edited: --resume splits it again with --auto-id and names what changed by id
  writeFileSync(suite, 'name,url\nfirst,/a\nsecond,/b2\nthird,/c\n');
  const resumed = await b.launch(['--resume', runDir, '--foreground'], { cwd: b.dir });
  assert.equal(resumed.code, 2, resumed.stderr);
  assert.match(resumed.stderr, /1 test changed \(row-3\)/);
  // --rerun-failed does not take tests by line-number ids from an edited suite: a row added
  // above makes row-3 another row (one that passes), which would turn the rerun green
  writeFileSync(suite, 'name,url\nnew,/n\nfirst,/a\nsecond,/b2\nthird,/c\n');
  const rerun = await b.launch(['--rerun-failed', runDir, '--foreground'], { cwd: b.dir });
  assert.match(
    rerun.stderr,
    /its ids are line numbers \(--auto-id\): rerunning the failed tests as they were split for/,
  );
  assert.equal(rerun.code, 1, rerun.stderr);
  const rerunDir = join(b.runs, runIds(b.runs).sort().at(-1) as string);
  const batch = readFileSync(join(rerunDir, 'batches', 'batch_0001.ndjson'), 'utf8');
  assert.deepEqual(
    batch
      .trim()
      .split('\n')
      .map((l) => [JSON.parse(l).id, JSON.parse(l).request.url]),
    [['row-3', '/b']],
  );
  // the resume's advice to launch the suite as it is now carries the run's split flags
  assert.match(resumed.stderr, /or capi-launch \S*noid\.csv --auto-id starts a run of the suite as it is now/);
});

/** A stand-in capi-watch that writes its pid and waits (30 s at most) until it is killed; `deaf`: it ignores SIGTERM. */
function lingeringWatch(dir: string, deaf: boolean): string {
  const file = join(dir, 'watch-linger.mjs');
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(join(dir, 'watch.pid'))}, String(process.pid));
if (${deaf}) process.on('SIGTERM', () => {});
setTimeout(() => process.exit(1), 30000);
`,
  );
  return file;
}

for (const [follow, sig, code] of [
  ['--wait', 'SIGINT', 130],
  ['--wait', 'SIGTERM', 143],
  ['--wait', 'SIGHUP', 129],
  ['--monitor', 'SIGTERM', 143],
  ['--monitor', 'SIGHUP', 129],
] as const)
  test(`${sig} to ${follow} stops the following, not the run, and says so${follow === '--monitor' ? '; capi-watch is stopped too' : ''}`, async () => {
    // 300 tests at 100 ms: the run is still going when the signal comes
    const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
    const watchPid = join(b.dir, 'watch.pid');
    const child = spawn(process.execPath, [binPath('capi-launch'), b.suite(300), '--batch-size', '10', follow], {
      // with SIGHUP, a capi-watch that ignores SIGTERM: it is killed after a moment all the same
      env: testEnv({ ...b.env, CAPI_WATCH_BIN: lingeringWatch(b.dir, sig === 'SIGHUP') }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    const done = collect(child, { timeoutMs: 60_000 });
    // the wait has begun: its first progress line, or capi-watch's pid
    await until('following', () => (follow === '--wait' ? / done,/.test(err) : existsSync(watchPid)));
    // and the run is under way: a launch returns once its supervisor has written
    // supervisor.pid, which it does just before run.json says `running` (docs/capi-launch.md),
    // so on a busy machine run.json can still say `created` while the wait goes on
    const runDir = await until('the run folder on stdout', () => /folder:/.test(out) && runDirOf(out));
    const state = () => readJson<{ state: string }>(join(runDir, 'run.json')).state;
    await until('the supervisor to have taken the run', () => state() === 'running', 30_000);
    child.kill(sig);
    // the same signal again while capi-watch is being stopped: still one message and the code
    if (follow === '--monitor') setTimeout(() => child.exitCode === null && child.kill(sig), 300);
    const r = await done;
    assert.equal(r.code, code, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `capi-launch: ${sig}: stopped following; the run goes on: capi-launch --status \\S+, capi-launch --stop \\S+`,
      ),
    );
    if (follow === '--monitor') {
      const pid = Number(readFileSync(watchPid, 'utf8'));
      await until('capi-watch gone', () => !isAlive(pid), 5000);
    }
    assert.equal(state(), 'running', 'the run was not stopped');
    assert.equal((await b.launch(['--stop', runDir])).code, 0);
  });

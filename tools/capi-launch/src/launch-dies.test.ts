import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { binPath, collect, testEnv } from '@capi/testkit';
import {
  exactlyOnce,
  fakeSplit,
  launchInBackground,
  readJson,
  type Sandbox,
  sandboxes,
  until,
} from './test-support/harness.js';

// docs/capi-launch.md "A launch that ends before its supervisor takes the run": a
// capi-launch killed during its split, or before its supervisor took the run, leaves a
// folder that --status shows for what it is and that --resume starts or --prune removes;
// a launch still under way (the runs folder's .launch.lock held) is never taken for one.

const box = sandboxes(true);

interface Run {
  id: string;
  state: string;
  verdict: string | null;
  finished: string | null;
}

interface Summary {
  id: string;
  state: string;
  started: boolean;
  remaining: number;
  total: number;
}

/** A stand-in tool (CAPI_SPLIT_BIN, CAPI_LAUNCH_BIN): `body` runs in its place. */
function script(b: Sandbox, body: string): string {
  const file = join(b.dir, `stand-in-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `${body}\n`);
  return file;
}

/** The run folders in the runs folder. */
const runFolders = (b: Sandbox) =>
  readdirSync(b.runs)
    .filter((n) => n.startsWith('capi_test_'))
    .sort();

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

/** A supervisor stand-in that kills the capi-launch that started it, then dies too: run.json stays `created`. */
const killsLaunch = (b: Sandbox, sig = 'SIGKILL') =>
  script(b, `process.kill(process.ppid, ${JSON.stringify(sig)});\nprocess.exit(1);`);

async function statusJson(b: Sandbox, target: string): Promise<Summary> {
  const s = await b.launch(['--status', '--json', target]);
  assert.equal(s.code, 0, s.stderr);
  return JSON.parse(s.stdout.trim()) as Summary;
}

test('capi-launch killed (SIGKILL) during the split: --status names the folder without run.json, --status RUN says so (exit 2), --prune removes it', async () => {
  const b = await box();
  // capi-split's stand-in writes a first batch, then its capi-launch is killed
  const split = script(
    b,
    `import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const out = process.argv[process.argv.indexOf('--out') + 1];
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'batch_0001.ndjson'), '');
process.kill(process.ppid, 'SIGKILL');`,
  );
  const r = await b.launch([b.suite(20)], { env: { CAPI_SPLIT_BIN: split } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const [id] = runFolders(b);
  assert.ok(id, 'the folder is left');
  assert.ok(!existsSync(join(b.runs, id, 'run.json')));
  const s = await b.launch(['--status']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(
    s.stderr,
    new RegExp(
      `${id}: no run\\.json: its capi-launch ended before it wrote one \\(killed during the split\\?\\); nothing in it can run: capi-launch --prune removes it`,
    ),
  );
  const one = await b.launch(['--status', id]);
  assert.equal(one.code, 2, one.stderr);
  assert.match(one.stderr, /no run\.json: its capi-launch ended before it wrote one/);
  const dry = await b.launch(['--prune', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout, `would remove ${id} (no run.json)\n`);
  assert.deepEqual(runFolders(b), [id]);
  const p = await b.launch(['--prune']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, `removed ${id} (no run.json)\n`);
  assert.deepEqual(runFolders(b), []);
});

test('SIGTERM to capi-launch during the split: capi-split is stopped, the folder removed, exit 143 saying so', async () => {
  const b = await box();
  const pidFile = join(b.dir, 'split-pid');
  // a long split (bounded: 30 s), during which capi-launch is sent SIGTERM
  const split = script(
    b,
    `import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
process.kill(process.ppid, 'SIGTERM');
for (let i = 0; i < 300; i++) await sleep(100);`,
  );
  const started = Date.now();
  const r = await b.launch([b.suite(20)], { env: { CAPI_SPLIT_BIN: split } });
  assert.equal(r.code, 143, `${r.signal} ${r.stderr}`);
  assert.match(
    r.stderr,
    /SIGTERM: the launch was interrupted before its run was made: capi-split stopped, the run folder removed, nothing started/,
  );
  assert.ok(Date.now() - started < 20_000, 'capi-split was stopped, not waited for');
  assert.deepEqual(runFolders(b), []);
  assert.ok(gone(Number(readFileSync(pidFile, 'utf8'))), 'capi-split has ended');
});

test('capi-launch killed (SIGKILL) before its supervisor took the run: --status says dead (never started) with the commands; --resume starts it', async () => {
  const b = await box();
  const r = await b.launch([b.suite(30), '--batch-size', '10'], { env: { CAPI_LAUNCH_BIN: killsLaunch(b) } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const [id] = runFolders(b);
  assert.ok(id);
  const runDir = join(b.runs, id);
  assert.equal(readJson<Run>(join(runDir, 'run.json')).state, 'created');
  const j = await statusJson(b, id);
  assert.deepEqual([j.state, j.started, j.remaining, j.total], ['dead', false, 30, 30]);
  const s = await b.launch(['--status']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`${id} +dead \\(never started\\) `));
  assert.match(
    s.stderr,
    new RegExp(
      `${id}: never started: its capi-launch ended before its supervisor took the run \\(killed, or the supervisor could not start\\), so nothing will run it: capi-launch --resume \\S+ starts it, capi-launch --prune removes it`,
    ),
  );
  const again = await b.launch(['--resume', id, '--foreground']);
  assert.equal(again.code, 0, again.stderr);
  const m = readJson<Run>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.verdict], ['completed', 'passed']);
  assert.equal(exactlyOnce(runDir, 30), null);
  const after = await statusJson(b, id);
  assert.deepEqual([after.state, after.started], ['completed', true]);
});

test('SIGTERM to capi-launch before its supervisor took the run: a new launch of the suite is not refused and says so; --stop keeps it (stopped), --prune removes the other', async () => {
  const b = await box();
  const suite = b.suite(10);
  const first = await b.launch([suite], { env: { CAPI_LAUNCH_BIN: killsLaunch(b, 'SIGTERM') } });
  assert.equal(first.signal, 'SIGTERM', first.stderr);
  const [a] = runFolders(b);
  assert.ok(a);
  // the second launch (no --force) is not refused by it, and names it; it dies the same way
  const second = await b.launch([suite], { env: { CAPI_LAUNCH_BIN: killsLaunch(b) } });
  assert.equal(second.signal, 'SIGKILL', second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`${a}, a launch of this suite, never started: .*capi-launch --prune removes it`),
  );
  const [, c] = runFolders(b);
  assert.ok(c);
  const stop = await b.launch(['--stop', c]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, new RegExp(`run ${c} stopped \\(it had never started\\)`));
  assert.equal((await statusJson(b, c)).state, 'stopped');
  const p = await b.launch(['--prune', '--keep', '0']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, `removed ${a} (never started)\n`);
  assert.deepEqual(runFolders(b), [c], 'the stopped run stays');
});

test('a launch under way is never taken for a dead one: its folder while it splits, its created run while its supervisor starts', async () => {
  const b = await box();
  const splitting = join(b.dir, 'splitting');
  const splitGo = join(b.dir, 'split-go');
  const starting = join(b.dir, 'starting');
  const superGo = join(b.dir, 'supervisor-go');
  const wait = (seen: string, go: string, then: string) =>
    `import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
writeFileSync(${JSON.stringify(seen)}, String(process.pid));
for (let i = 0; i < 300 && !existsSync(${JSON.stringify(go)}); i++) await sleep(100);
process.exit(spawnSync(process.execPath, [${JSON.stringify(then)}, ...process.argv.slice(2)], { stdio: 'inherit' }).status ?? 1);`;
  const env = testEnv({
    ...b.env,
    CAPI_SPLIT_BIN: script(b, wait(splitting, splitGo, fakeSplit)),
    CAPI_LAUNCH_BIN: script(b, wait(starting, superGo, binPath('capi-launch'))),
    FAKE_EXEC_DELAY_MS: '20',
  });
  const child = spawn(process.execPath, [binPath('capi-launch'), b.suite(20)], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const launched = collect(child, { timeoutMs: 60_000 });
  await until('the split started', () => existsSync(splitting));
  const [id] = runFolders(b);
  assert.ok(id);
  const s = await b.launch(['--status']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, new RegExp(`${id}: no run\\.json yet: a capi-launch of \\S+ is preparing a run`));
  assert.doesNotMatch(s.stderr, /ended before/);
  // --status RUN waits for the launch (it holds the lock) and then shows the run it made
  const { child: looker, said: lookerSaid, ended: looked } = launchInBackground(b, ['--status', '--json', id]);
  await until(
    '--status RUN waiting',
    () => /waiting for the capi-launch/.test(lookerSaid()) || looker.exitCode !== null,
  );
  assert.equal(looker.exitCode, null, '--status RUN waits for the launch');
  // --prune waits for the launch (it holds the lock), then finds a live run: nothing to remove
  const { child: pruner, said, ended: pruned } = launchInBackground(b, ['--prune', '--keep', '0']);
  await until('the prune waiting', () => /waiting for a capi-launch/.test(said()) || pruner.exitCode !== null);
  assert.equal(pruner.exitCode, null, 'the prune waits for the launch');
  writeFileSync(splitGo, '');
  await until('the supervisor starting', () => existsSync(starting));
  // run.json says created, no supervisor yet, the launch alive: created, not dead
  assert.equal(readJson<Run>(join(b.runs, id, 'run.json')).state, 'created');
  const meanwhile = await statusJson(b, id);
  assert.deepEqual([meanwhile.state, meanwhile.started], ['created', false]);
  const table = await b.launch(['--status']);
  assert.doesNotMatch(table.stdout + table.stderr, /never started|dead/);
  assert.equal(pruner.exitCode, null, 'the prune still waits');
  writeFileSync(superGo, '');
  const [l, p, one] = await Promise.all([launched, pruned, looked]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, '', 'nothing removed');
  assert.equal(one.code, 0, one.stderr);
  assert.match(
    one.stderr,
    new RegExp(`^capi-launch: ${id}: no run\\.json yet: waiting for the capi-launch of \\S+ to make it\n$`),
  );
  assert.equal((JSON.parse(one.stdout.trim()) as Summary).id, id);
  assert.deepEqual(runFolders(b), [id]);
  await until('completed', () => readJson<Run>(join(b.runs, id, 'run.json')).state === 'completed', 60_000);
  assert.equal(exactlyOnce(join(b.runs, id), 20), null);
});

test('the supervisor of a killed capi-launch that starts late leaves alone the run a --resume has taken and completed since', async () => {
  const b = await box();
  const seen = join(b.dir, 'late-supervisor');
  const go = join(b.dir, 'late-go');
  // capi-launch dies as its supervisor starts; that supervisor is slow (a loaded machine)
  const late = script(
    b,
    `import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
process.kill(process.ppid, 'SIGKILL');
writeFileSync(${JSON.stringify(seen)}, String(process.pid));
for (let i = 0; i < 300 && !existsSync(${JSON.stringify(go)}); i++) await sleep(100);
process.exit(spawnSync(process.execPath, [${JSON.stringify(binPath('capi-launch'))}, ...process.argv.slice(2)], { stdio: 'inherit' }).status ?? 1);`,
  );
  const r = await b.launch([b.suite(20)], { env: { CAPI_LAUNCH_BIN: late } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const pid = await until('the late supervisor', () => existsSync(seen) && Number(readFileSync(seen, 'utf8')));
  const [id] = runFolders(b);
  assert.ok(id);
  const runDir = join(b.runs, id);
  const resumed = await b.launch(['--resume', id, '--foreground']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const before = readFileSync(join(runDir, 'run.json'), 'utf8');
  assert.equal((JSON.parse(before) as Run).state, 'completed');
  writeFileSync(go, '');
  await until('the late supervisor gone', () => gone(pid), 40_000);
  assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, 'run.json unchanged');
  assert.match(
    readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8'),
    /run\.json says completed, not created: this supervisor of a new launch started after the run was taken over/,
  );
  assert.equal(exactlyOnce(runDir, 20), null);
});

test('two supervisors taking one never-started run: each writes supervisor.pid only under run.json.lock, the second finds the first there and leaves; the run is supervised once', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20' });
  const r = await b.launch([b.suite(20)], { env: { CAPI_LAUNCH_BIN: killsLaunch(b) } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const [id] = runFolders(b);
  assert.ok(id);
  const runDir = join(b.runs, id);
  const runJson = join(runDir, 'run.json');
  const log = join(runDir, 'logs', 'capi.log');
  // run.json.lock held (as by a --stop writing run.json): both supervisors wait for it
  const lock = `${runJson}.lock`;
  writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  const fresh = setInterval(() => utimesSync(lock, new Date(), new Date()), 500);
  const waiting = () => (readFileSync(log, 'utf8').match(/waiting for run\.json\.lock to take the run/g) ?? []).length;
  try {
    const supervisors = [0, 1].map(() =>
      collect(
        spawn(process.execPath, [binPath('capi-launch'), '--supervise', runDir], {
          env: testEnv(b.env),
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
        { timeoutMs: 60_000 },
      ),
    );
    await until('both supervisors waiting', () => existsSync(log) && waiting() >= 2, 30_000);
    // the pid file is written under the lock only: neither has written it yet
    await sleep(500);
    assert.ok(!existsSync(join(runDir, 'supervisor.pid')), 'no supervisor.pid while run.json.lock is held');
    clearInterval(fresh);
    rmSync(lock);
    const ends = await Promise.all(supervisors);
    const codes = ends.map((e) => e.code).sort();
    assert.deepEqual(codes, [0, 2], ends.map((e) => e.stderr).join('\n'));
    const left = ends.find((e) => e.code === 2);
    assert.match(left?.stderr ?? '', new RegExp(`${id} is already supervised by pid \\d+`));
  } finally {
    clearInterval(fresh);
    rmSync(lock, { force: true });
  }
  assert.deepEqual([readJson<Run>(runJson).state, readJson<Run>(runJson).verdict], ['completed', 'passed']);
  assert.equal(exactlyOnce(runDir, 20), null);
});

test('a fresh launch whose supervisor dies at its start: exit 3, its own reason quoted from capi.log (not lost under its stack), no run folder left, no file named that is gone', async () => {
  const b = await box();
  // an unexpected error's line and a stack longer than the quoted tail, as runTool prints one
  const frames = Array.from({ length: 12 }, (_, i) => `    at frame${i} (file:///x.js:${i}:1)`).join('\\n');
  const dies = script(
    b,
    `process.stderr.write("capi-launch: unexpected error: TypeError: out of luck \\x1b[31mred\\x1b[0m\\n${frames}\\n");\nprocess.exit(3);`,
  );
  const r = await b.launch([b.suite(5)], { env: { CAPI_LAUNCH_BIN: dies } });
  assert.equal(r.code, 3, r.stderr);
  const [first, ...quoted] = r.stderr.trimEnd().split('\n');
  assert.match(
    first as string,
    /^capi-launch: the supervisor did not start: it exited \(exit 3\); nothing started, the run folder \S+capi_test_\S+ is removed; its logs\/capi\.log said:$/,
  );
  // Before: the last five lines of capi.log (five stack frames) after `see RUN/logs/capi.log`, a file removed with its folder.
  assert.deepEqual(quoted, ['capi-launch: unexpected error: TypeError: out of luck red']);
  assert.deepEqual(runFolders(b), [], 'no half-made run folder');
  assert.ok(!existsSync(join(b.runs, 'latest')));
});

test('a fresh --tmux launch whose tmux fails after its session started: the session is closed, no run folder left, exit 3 naming the failure', async () => {
  const b = await box();
  // a tmux that starts the session (its pane a sleeping process) and then fails to add a window
  const bin = join(b.dir, 'bin');
  const calls = join(b.dir, 'tmux-calls');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'tmux'),
    `#!/bin/sh
echo "$1" >> ${JSON.stringify(calls)}
case "$1" in
  has-session) exit 1 ;;
  new-session) sleep 30 >/dev/null 2>&1 & echo $! > ${JSON.stringify(`${calls}.pane`)}; echo $!; exit 0 ;;
  new-window) echo "fake tmux: no space for a window" >&2; exit 1 ;;
  kill-session) kill "$(cat ${JSON.stringify(`${calls}.pane`)})"; exit 0 ;;
esac
exit 0
`,
  );
  chmodSync(join(bin, 'tmux'), 0o755);
  const r = await b.launch([b.suite(5), '--tmux'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  const pane = Number(readFileSync(`${calls}.pane`, 'utf8'));
  if (!gone(pane)) process.kill(pane, 'SIGKILL');
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^capi-launch: tmux new-window failed: fake tmux: no space for a window; nothing started, the run folder \S+ is removed/,
  );
  // Before: thrown at once, the session (and the supervisor in it) left running over a removed folder.
  assert.ok(readFileSync(calls, 'utf8').split('\n').includes('kill-session'), 'the half-made session is closed');
  assert.deepEqual(runFolders(b), []);
});

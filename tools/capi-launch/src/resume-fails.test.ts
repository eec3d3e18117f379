import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, collect, testEnv } from '@capi/testkit';
import {
  exactlyOnce,
  launchInBackground,
  readJson,
  runDirOf,
  type Sandbox,
  sandboxes,
  until,
} from './test-support/harness.js';

// docs/capi-launch.md "A resume that fails leaves the run as it was": a --resume whose
// supervisor never takes the run changes neither run.json nor control.json.

const box = sandboxes(true);

interface Run {
  state: string;
  verdict: string | null;
  finished: string | null;
  method: string;
  options: { rate: string | null; concurrency: number | null };
}

/** run.json and control.json, byte for byte. */
const snapshot = (runDir: string) => ({
  run: readFileSync(join(runDir, 'run.json'), 'utf8'),
  control: readFileSync(join(runDir, 'control.json'), 'utf8'),
});

/** A completed (passed) run, supervised in the foreground. */
async function completedRun(b: Sandbox): Promise<string> {
  const r = await b.launch([b.suite(20), '--foreground', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, 'latest');
  assert.deepEqual(
    [readJson<Run>(join(runDir, 'run.json')).state, readJson<Run>(join(runDir, 'run.json')).verdict],
    ['completed', 'passed'],
  );
  return runDir;
}

/** A stopped run: launched in the background, then --stop. */
async function stoppedRun(b: Sandbox): Promise<string> {
  const r = await b.launch([b.suite(200), '--parallel', '2', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  await until('stopped', () => readJson<Run>(join(runDir, 'run.json')).state === 'stopped');
  return runDir;
}

/** A stand-in for the supervisor (CAPI_LAUNCH_BIN): `body` runs in place of `capi-launch --supervise`. */
function fakeSupervisor(b: Sandbox, body: string): string {
  const file = join(b.dir, `supervisor-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `${body}\n`);
  return file;
}

async function statusOf(b: Sandbox, runDir: string): Promise<{ state: string; verdict: string | null }> {
  const s = await b.launch(['--status', '--json', runDir]);
  assert.equal(s.code, 0, s.stderr);
  return JSON.parse(s.stdout.trim()) as { state: string; verdict: string | null };
}

test('--resume --tmux of a completed run whose tmux cannot start a session: exit 3, run.json and control.json as they were', async () => {
  const b = await box();
  const runDir = await completedRun(b);
  // a tmux that is installed but starts nothing (no server socket, a full /tmp...)
  const bin = join(b.dir, 'bin');
  const tmux = join(bin, 'tmux');
  mkdirSync(bin);
  writeFileSync(tmux, '#!/bin/sh\necho "fake tmux: cannot create server socket" >&2\nexit 1\n');
  chmodSync(tmux, 0o755);
  const before = snapshot(runDir);
  const r = await b.launch(['--resume', runDir, '--tmux', '--rate', '5/s', '--concurrency', '3', '--parallel', '4'], {
    env: { PATH: `${bin}:${process.env.PATH}` },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(snapshot(runDir), before, 'run.json and control.json unchanged');
  assert.match(r.stderr, /tmux new-session failed: fake tmux: cannot create server socket/);
  assert.match(r.stderr, /the run is left as it was \(completed\)/);
  assert.ok(!existsSync(join(runDir, 'resume.json')), 'resume.json removed');
  const s = await statusOf(b, runDir);
  assert.deepEqual([s.state, s.verdict], ['completed', 'passed']);
  // and a resume that can start goes on as ever
  const again = await b.launch(['--resume', runDir, '--foreground', '--rate', '5/s']);
  assert.equal(again.code, 0, again.stderr);
  const m = readJson<Run>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.verdict, m.options.rate], ['completed', 'passed', '5/s']);
  assert.equal(readJson<{ rate: string }>(join(runDir, 'control.json')).rate, '5/s');
});

test('--resume whose supervisor exits before it writes supervisor.pid: exit 3 at once, the stopped run stays stopped', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20' });
  const runDir = await stoppedRun(b);
  const before = snapshot(runDir);
  const dies = fakeSupervisor(b, `process.stderr.write('fake supervisor: out of memory\\n');\nprocess.exit(1);`);
  const started = Date.now();
  const r = await b.launch(['--resume', runDir, '--concurrency', '7', '--max-restarts', '9'], {
    env: { CAPI_LAUNCH_BIN: dies },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(snapshot(runDir), before, 'run.json and control.json unchanged');
  assert.match(r.stderr, /the supervisor did not start: it exited \(exit 1\)/);
  assert.match(r.stderr, /the run is left as it was \(stopped\)/);
  assert.match(r.stderr, /fake supervisor: out of memory/, 'the log tail is quoted');
  assert.ok(Date.now() - started < 20_000, 'not the 30 s wait: its exit was seen');
  assert.ok(!existsSync(join(runDir, 'resume.json')));
  assert.equal((await statusOf(b, runDir)).state, 'stopped');
  const again = await b.launch(['--resume', runDir, '--concurrency', '7']);
  assert.equal(again.code, 0, again.stderr);
  await until('completed', () => readJson<Run>(join(runDir, 'run.json')).state === 'completed', 60_000);
  assert.equal(readJson<Run>(join(runDir, 'run.json')).options.concurrency, 7);
  assert.equal(exactlyOnce(runDir, 200), null);
});

test('capi-launch --resume killed (SIGKILL) after it started a supervisor that never took the run: the completed run keeps its verdict', async () => {
  const b = await box();
  const runDir = await completedRun(b);
  const before = snapshot(runDir);
  // the worst moment: capi-launch dies just as its supervisor starts, and the supervisor dies too
  const killer = fakeSupervisor(b, `process.kill(process.ppid, 'SIGKILL');\nprocess.exit(1);`);
  const r = await b.launch(['--resume', runDir, '--rate', '9/s'], { env: { CAPI_LAUNCH_BIN: killer } });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.deepEqual(snapshot(runDir), before, 'run.json and control.json unchanged');
  const s = await statusOf(b, runDir);
  assert.deepEqual([s.state, s.verdict], ['completed', 'passed']);
  // what it left is read by no one; the next resume goes on, and drops it
  assert.ok(existsSync(join(runDir, 'resume.json')));
  const again = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(again.code, 0, again.stderr);
  const m = readJson<Run>(join(runDir, 'run.json'));
  assert.deepEqual(
    [m.state, m.verdict, m.options.rate],
    ['completed', 'passed', null],
    'the killed resume’s --rate is not applied',
  );
  assert.ok(!existsSync(join(runDir, 'resume.json')));
});

test('SIGTERM to capi-launch --resume while its supervisor is starting: --status meanwhile and after shows the run as it was; a late supervisor leaves it alone', async () => {
  const b = await box();
  const runDir = await completedRun(b);
  const before = snapshot(runDir);
  const seen = join(b.dir, 'supervisor-started');
  const go = join(b.dir, 'supervisor-go');
  // a supervisor slow to start (a loaded machine): it says it has started, then waits to be let go
  const slow = fakeSupervisor(
    b,
    `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ pid: process.pid, ppid: process.ppid, argv: process.argv.slice(2) }));
for (let i = 0; i < 300 && !existsSync(${JSON.stringify(go)}); i++) await sleep(100);
const real = ${JSON.stringify(binPath('capi-launch'))};
const { spawnSync } = await import('node:child_process');
process.exit(spawnSync(process.execPath, [real, ...process.argv.slice(2)], { stdio: 'inherit' }).status ?? 1);`,
  );
  const child = spawn(process.execPath, [binPath('capi-launch'), '--resume', runDir, '--concurrency', '5'], {
    env: testEnv({ ...b.env, CAPI_LAUNCH_BIN: slow }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = collect(child, { timeoutMs: 30_000 });
  const info = await until('the supervisor started', () =>
    existsSync(seen) ? (JSON.parse(readFileSync(seen, 'utf8')) as { pid: number; ppid: number; argv: string[] }) : null,
  );
  assert.equal(info.ppid, child.pid);
  // meanwhile: the run as it was
  const meanwhile = await statusOf(b, runDir);
  assert.deepEqual([meanwhile.state, meanwhile.verdict], ['completed', 'passed']);
  assert.deepEqual([info.argv[0], info.argv.at(-1)], ['--supervise', '--resumed']);
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.signal, 'SIGTERM', r.stderr);
  assert.deepEqual(snapshot(runDir), before, 'run.json and control.json unchanged');
  // capi-launch is gone; the resume it left is given up by the next one, so the late
  // supervisor, let go now, finds nothing to take
  const next = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(next.code, 0, next.stderr);
  const after = snapshot(runDir);
  writeFileSync(go, '');
  await until('the late supervisor gone', () => {
    try {
      process.kill(info.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(snapshot(runDir), after, 'the late supervisor changed nothing');
  assert.match(
    readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8'),
    /gave up before it took the run; the run is left as it was/,
  );
  assert.equal(readJson<Run>(join(runDir, 'run.json')).options.concurrency, null, 'the given-up --concurrency 5');
});

test('a completed run resumed whose merge then fails keeps its verdict; the log says the report was not written', async () => {
  const b = await box();
  const runDir = await completedRun(b);
  const fails = fakeSupervisor(b, `process.stderr.write('fake capi-merge: disk full\\n');\nprocess.exit(3);`);
  const r = await b.launch(['--resume', runDir, '--wait'], { env: { CAPI_MERGE_BIN: fails } });
  assert.equal(r.code, 0, r.stderr);
  const m = readJson<Run>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.verdict], ['completed', 'passed']);
  const s = await statusOf(b, runDir);
  assert.deepEqual([s.state, s.verdict], ['completed', 'passed']);
  assert.match(
    readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8'),
    /capi-merge could not write the report \(exit 3\)/,
  );
});

test('--stop while a --resume of the run is starting its supervisor: it waits, then stops the resumed run (not "already stopped")', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '50' });
  const runDir = await stoppedRun(b);
  const seen = join(b.dir, 'supervisor-started');
  const go = join(b.dir, 'supervisor-go');
  // the real supervisor, slow to start: it waits to be let go, then runs as itself
  const slow = fakeSupervisor(
    b,
    `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
writeFileSync(${JSON.stringify(seen)}, String(process.pid));
for (let i = 0; i < 300 && !existsSync(${JSON.stringify(go)}); i++) await sleep(100);
const child = spawn(process.execPath, [${JSON.stringify(binPath('capi-launch'))}, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
child.on('exit', (code) => process.exit(code ?? 1));`,
  );
  const resume = b.launch(['--resume', runDir], { env: { CAPI_LAUNCH_BIN: slow } });
  await until('the supervisor started', () => existsSync(seen));
  const { child: stopper, said, ended: stop } = launchInBackground(b, ['--stop', runDir]);
  // the stop waits for the resume (it says so); then the resume's supervisor goes on
  await until('the stop waiting', () => /waiting for a capi-launch/.test(said()) || stopper.exitCode !== null);
  writeFileSync(go, '');
  const [r, s] = await Promise.all([resume, stop]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.code, 0, s.stderr);
  // the slow supervisor ends with the real one it started
  const fake = Number(readFileSync(seen, 'utf8'));
  await until(
    'the supervisor ended',
    () => {
      try {
        process.kill(fake, 0);
        return false;
      } catch {
        return true;
      }
    },
    40_000,
  );
  assert.equal(readJson<Run>(join(runDir, 'run.json')).state, 'stopped', s.stderr);
  assert.doesNotMatch(s.stderr, /is not running/, s.stderr);
  assert.match(s.stderr, /waiting for a capi-launch in \S+ to start its run/);
});

test('--resume of a run whose run.json was damaged by hand: exit 2 naming the file and the field, nothing changed', async () => {
  const b = await box();
  const runDir = await completedRun(b);
  const file = join(runDir, 'run.json');
  const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { options: object };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no options', { ...good, options: undefined }, /run\.json: field "options": missing/],
    ['options a string', { ...good, options: 'x' }, /run\.json: field "options": not an object/],
    [
      'execArgs not a list',
      { ...good, options: { ...good.options, execArgs: '--timeout 1' } },
      /run\.json: field "options\.execArgs": not a list of strings/,
    ],
    ['no suite', { ...good, suite: undefined }, /run\.json: field "suite": missing/],
  ];
  for (const [what, damaged, message] of cases) {
    writeFileSync(file, `${JSON.stringify(damaged, null, 2)}\n`);
    const before = snapshot(runDir);
    const r = await b.launch(['--resume', runDir]);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.doesNotMatch(r.stderr, /TypeError|unexpected error/, what);
    assert.deepEqual(snapshot(runDir), before, what);
  }
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { holdingRunManifest, pidAlive } from '@capi/core';
import { binPath, killAll, privateTmuxEnv, type StandInSupervisor, standInSupervisor, testEnv } from '@capi/testkit';
import {
  demoFor,
  demoSuite,
  exactlyOnce,
  fakeExec,
  fakeSplit,
  readJson,
  runDirOf,
  sandboxes,
  until,
} from './test-support/harness.js';

// Real tmux and real GNU screen running the real tools against the demo API; a real
// detached process group (with the stand-in exec, whose pace is steady).

const sessions: Array<['tmux' | 'screen', string]> = [];
/** Private tmux servers (TMUX_TMPDIR) started by a test: killed in `after`. */
const tmuxDirs: string[] = [];
after(() => {
  killAll();
  for (const [kind, name] of sessions)
    if (kind === 'tmux') launchTmux(['kill-session', '-t', `=${name}`]);
    else spawnSync('screen', ['-S', name, '-X', 'quit']);
  for (const dir of tmuxDirs) spawnSync('tmux', ['kill-server'], { env: privateTmuxEnv(dir) });
});
/** tmux as the launches here see it (testEnv: no TMUX, so not a server the tests run in). */
const launchTmux = (args: string[]) => spawnSync('tmux', args, { encoding: 'utf8', env: testEnv() });
// Registered after the sessions' hook, so the sessions are gone before their folders.
const box = sandboxes(true);
const demo = demoFor(40);

const state = (runDir: string) => readJson<{ state: string; verdict: string }>(join(runDir, 'run.json'));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('--tmux: a named session with supervisor, worker and watch windows; closed when the run ends', {
  skip: !has('tmux'),
}, async () => {
  const b = await box({}, false);
  const suite = demoSuite(b.dir, 40, ['T0005']);
  const r = await b.launch([
    suite,
    '--tmux',
    '--parallel',
    '2',
    '--batch-size',
    '20',
    '--concurrency',
    '2',
    '--base-url',
    demo.url,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const id = state(runDir) && readJson<{ session: string }>(join(runDir, 'run.json')).session;
  sessions.push(['tmux', id]);
  assert.ok(r.stdout.includes(`attach:  tmux attach -t ${id}`), r.stdout);
  assert.match(launchTmux(['ls']).stdout, new RegExp(`^${id}: 4 windows`, 'm'));
  const windows = launchTmux(['list-windows', '-t', `=${id}`, '-F', '#W']).stdout;
  assert.deepEqual(windows.trim().split('\n'), ['supervisor', 'worker-1', 'worker-2', 'watch']);
  await until('run end', () => state(runDir).state === 'completed', 30_000);
  assert.equal(state(runDir).verdict, 'failed', 'T0005 expects 404');
  assert.equal(exactlyOnce(runDir, 40), null);
  await until('session closed', () => launchTmux(['has-session', '-t', `=${id}`]).status !== 0, 5000);
});

test('--screen: a named detached session that ends with the run', { skip: !has('screen') }, async () => {
  const b = await box({}, false);
  const suite = demoSuite(b.dir, 60);
  const r = await b.launch([
    suite,
    '--screen',
    '--parallel',
    '2',
    '--batch-size',
    '20',
    '--concurrency',
    '2',
    '--base-url',
    demo.url,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const id = readJson<{ session: string }>(join(runDir, 'run.json')).session;
  sessions.push(['screen', id]);
  assert.ok(r.stdout.includes(`attach:  screen -r ${id}`), r.stdout);
  assert.match(spawnSync('screen', ['-ls'], { encoding: 'utf8' }).stdout, new RegExp(`\\d+\\.${id}\\s`));
  await until('run end', () => state(runDir).state === 'completed', 30_000);
  assert.equal(state(runDir).verdict, 'passed');
  assert.equal(exactlyOnce(runDir, 60), null);
  await until('session gone', () => !spawnSync('screen', ['-ls'], { encoding: 'utf8' }).stdout.includes(id), 5000);
});

test('--nohup: the run survives its launching shell being killed and a SIGHUP to that session', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '40' });
  const suite = b.suite(60);
  const out = join(b.dir, 'launch.out');
  const env = { ...process.env, ...b.env };
  const cmd = `${process.execPath} ${binPath('capi-launch')} ${suite} --parallel 2 --batch-size 20 > ${out} 2>&1; sleep 60`;
  // not `detached`: setsid would then fork, and the pid here would not be the shell's
  const shell = spawn('setsid', ['bash', '-c', cmd], { env, stdio: 'ignore' });
  const runDir = await until('launch output', () => {
    const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
    return text.includes('folder:') ? runDirOf(text) : null;
  });
  const shellPid = shell.pid as number;
  // the shell leads its own session (setsid): hang it up, then kill it outright
  process.kill(-shellPid, 'SIGHUP');
  try {
    process.kill(-shellPid, 'SIGKILL');
  } catch {
    // the hang-up may have ended the group already
  }
  await until('shell gone', () => shell.exitCode !== null || shell.signalCode !== null, 5000);
  assert.equal(state(runDir).state, 'running');
  await until('run end', () => state(runDir).state !== 'running', 30_000);
  assert.deepEqual([state(runDir).state, state(runDir).verdict], ['completed', 'passed']);
  assert.equal(exactlyOnce(runDir, 60), null);
});

test('a missing tmux or screen: how to install it, exit 2, nothing started or left behind', async () => {
  const b = await box();
  const suite = b.suite(5);
  for (const method of ['tmux', 'screen']) {
    const r = await b.launch([suite, `--${method}`], { env: { PATH: join(b.dir, 'empty-path') } });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`^capi-launch: --${method} needs ${method}, which is not installed .*apt-get install ${method}`),
    );
    assert.equal(existsSync(b.runs) ? (await import('node:fs')).readdirSync(b.runs).length : 0, 0);
  }
});

for (const method of ['tmux', 'screen'] as const)
  test(`--${method}: a supervisor that dies at its start is said at once (not after the 30 s start wait), session closed`, {
    skip: !has(method),
  }, async () => {
    const b = await box();
    // the supervisor's stand-in: says why on stderr (the window's, lost with it) and exits 1
    const dies = join(b.dir, 'dies.mjs');
    writeFileSync(dies, 'process.exit(1);\n');
    const began = Date.now();
    const r = await b.launch([b.suite(5), `--${method}`], { env: { CAPI_LAUNCH_BIN: dies }, timeoutMs: 45_000 });
    const tookMs = Date.now() - began;
    assert.equal(r.code, 3, r.stderr);
    const gone = method === 'tmux' ? 'its tmux window closed' : 'its screen session ended';
    assert.match(r.stderr, new RegExp(`the supervisor did not start: it exited \\(${gone}\\)`), r.stderr);
    // Before: 30 s and more (the whole start wait, for a process that was long gone).
    assert.ok(tookMs < 10_000, `capi-launch exited after ${tookMs} ms`);
    const id = (await import('node:fs')).readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string;
    const alive =
      method === 'tmux'
        ? launchTmux(['has-session', '-t', `=${id}`]).status === 0
        : new RegExp(`\\d+\\.${id}\\s`).test(spawnSync('screen', ['-ls', id], { encoding: 'utf8' }).stdout ?? '');
    if (alive) sessions.push([method, id]);
    assert.equal(alive, false, `the ${method} session ${id} was left open`);
  });

for (const method of ['tmux', 'screen'] as const)
  test(`--${method}: a supervisor that cannot take its run (run.json torn) says why in capi.log, and the launch shows it`, {
    skip: !has(method),
  }, async () => {
    const b = await box();
    // the real supervisor, started after its run.json was torn: it fails before it logs anything
    const tears = join(b.dir, 'tears.mjs');
    writeFileSync(
      tears,
      `import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const run = process.argv[process.argv.indexOf('--supervise') + 1];
writeFileSync(join(run, 'run.json'), '{ torn');
process.exit(spawnSync(process.execPath, [${JSON.stringify(binPath('capi-launch'))}, ...process.argv.slice(2)], { stdio: 'inherit' }).status ?? 1);
`,
    );
    const r = await b.launch([b.suite(5), `--${method}`], { env: { CAPI_LAUNCH_BIN: tears }, timeoutMs: 45_000 });
    assert.equal(r.code, 3, r.stderr);
    const gone = method === 'tmux' ? 'its tmux window closed' : 'its screen session ended';
    assert.match(r.stderr, new RegExp(`the supervisor did not start: it exited \\(${gone}\\)`), r.stderr);
    // Before: only the line above; the reason went to the window's stderr and closed with it.
    assert.match(
      r.stderr,
      /\n\S+ the supervisor could not take the run: \S+run\.json: malformed JSON: /,
      `the reason is not shown:\n${r.stderr}`,
    );
    const id = (await import('node:fs')).readdirSync(b.runs).find((n) => n.startsWith('capi_test_'));
    if (id && method === 'tmux' && launchTmux(['has-session', '-t', `=${id}`]).status === 0)
      sessions.push([method, id]);
  });

test('--tmux: kill -9 of the supervisor, then --resume reuses the session name and completes', {
  skip: !has('tmux'),
}, async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '40' });
  const r = await b.launch([b.suite(60), '--tmux', '--parallel', '2', '--batch-size', '20']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const id = readJson<{ session: string }>(join(runDir, 'run.json')).session;
  sessions.push(['tmux', id]);
  await until('results', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  process.kill(Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8')), 'SIGKILL');
  await until('supervisor window gone', () => {
    const w = launchTmux(['list-windows', '-t', `=${id}`, '-F', '#W']).stdout;
    return !w.includes('supervisor');
  });
  const again = await b.launch(['--resume', runDir, '--wait']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`closed the leftover tmux session ${id}`));
  assert.equal(exactlyOnce(runDir, 60), null);
  await until('session closed', () => launchTmux(['has-session', '-t', `=${id}`]).status !== 0, 5000);
});

test("--resume keeps the tmux session of a supervisor that took the run after the resume's look, and is refused", {
  skip: !has('tmux'),
}, async () => {
  const b = await box();
  const r = await b.launch([b.suite(5), '--wait']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const m = readJson<{ id: string }>(join(runDir, 'run.json'));
  const id = m.id;
  // a stopped tmux run whose session is still there
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({ ...m, state: 'stopped', method: 'tmux', session: id }));
  assert.equal(launchTmux(['new-session', '-d', '-s', id, 'sleep 600']).status, 0);
  sessions.push(['tmux', id]);
  const pane = Number(launchTmux(['list-panes', '-t', `=${id}`, '-F', '#{pane_pid}']).stdout);
  let resumed: ReturnType<typeof b.launch> | undefined;
  let supervisor: StandInSupervisor | undefined;
  // the resume looks (no live supervisor) and checks the run; meanwhile a supervisor (one a
  // killed --resume started, in that session) takes the run holding run.json.lock
  await holdingRunManifest(runDir, async () => {
    resumed = b.launch(['--resume', runDir]);
    await until('the resume under way', () => existsSync(join(b.runs, '.launch.lock')));
    await sleep(1500);
    supervisor = await standInSupervisor(runDir);
    writeFileSync(join(runDir, 'supervisor.pid'), `${supervisor.pid}\n`);
  });
  try {
    const again = await (resumed as ReturnType<typeof b.launch>);
    assert.equal(again.code, 2, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(`run ${id} is still running \\(pid ${supervisor?.pid}\\): nothing to resume`),
    );
    assert.doesNotMatch(again.stderr, /closed the leftover/);
    assert.ok(pidAlive(pane), "the session's process was killed: the session was closed under the supervisor");
  } finally {
    await supervisor?.stop();
  }
});

test('--tmux: secrets in the environment reach the workers but no command line (ps) while the run lives', {
  skip: !has('tmux'),
}, async () => {
  const secret = `s3cr3t-${process.pid}-${Date.now()}`;
  const b = await box({}, false);
  // a private tmux server, none running yet: the launch starts it
  const tmuxDir = join(b.dir, 'tmux');
  mkdirSync(tmuxDir);
  tmuxDirs.push(tmuxDir);
  // a stand-in worker that notes the secret it got, then is the stand-in exec
  const seen = join(b.dir, 'seen.txt');
  const worker = join(b.dir, 'env-worker.mjs');
  writeFileSync(
    worker,
    `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(seen)}, \`\${process.env.CAPI_TEST_SECRET}\\n\`);\nawait import(${JSON.stringify(pathToFileURL(fakeExec).href)});\n`,
  );
  const env = {
    TMUX_TMPDIR: tmuxDir,
    CAPI_SPLIT_BIN: fakeSplit,
    CAPI_EXEC_BIN: worker,
    CAPI_TEST_SECRET: secret,
    FAKE_EXEC_DELAY_MS: '60',
  };
  const r = await b.launch([b.suite(60), '--tmux', '--parallel', '2', '--batch-size', '20'], { env });
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  let looks = 0;
  const deadline = Date.now() + 30_000;
  while (state(runDir).state !== 'completed' && Date.now() < deadline) {
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    const leak = ps.split('\n').find((l) => l.includes(secret));
    assert.equal(leak, undefined, 'the secret is on a command line');
    looks++;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(looks >= 3, `looked only ${looks} times while the run lived`);
  assert.equal(state(runDir).state, 'completed');
  assert.equal(exactlyOnce(runDir, 60), null);
  const got = readFileSync(seen, 'utf8').trim().split('\n');
  // each of the 2 worker slots' capi-exec (it takes batch after batch) got the secret
  assert.ok(got.length >= 2, `${got.length} workers`);
  assert.deepEqual(new Set(got), new Set([secret]), 'every worker got the secret');
});

test("--tmux on a running server: the session gets the launching environment, not the server's old one", {
  skip: !has('tmux'),
}, async () => {
  const b = await box({}, false);
  // a private tmux server already running, started with variables the launch does not have
  const tmuxDir = join(b.dir, 'tmux');
  mkdirSync(tmuxDir);
  tmuxDirs.push(tmuxDir);
  const held = spawnSync('tmux', ['new-session', '-d', '-s', 'holder', 'sleep 120'], {
    env: privateTmuxEnv(tmuxDir, { CAPI_TEST_STALE: 'from the old server', CAPI_TEST_NEW: 'old value' }),
  });
  assert.equal(held.status, 0, String(held.stderr));
  const seen = join(b.dir, 'seen.txt');
  const worker = join(b.dir, 'env-worker.mjs');
  writeFileSync(
    worker,
    `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(seen)}, JSON.stringify([process.env.CAPI_TEST_STALE ?? null, process.env.CAPI_TEST_NEW ?? null]) + '\\n');\nawait import(${JSON.stringify(pathToFileURL(fakeExec).href)});\n`,
  );
  const env = {
    TMUX_TMPDIR: tmuxDir,
    CAPI_SPLIT_BIN: fakeSplit,
    CAPI_EXEC_BIN: worker,
    CAPI_TEST_NEW: 'launch value',
    FAKE_EXEC_DELAY_MS: '20',
  };
  const r = await b.launch([b.suite(40), '--tmux', '--parallel', '2', '--batch-size', '20'], { env });
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  await until('run end', () => state(runDir).state === 'completed', 30_000);
  assert.equal(exactlyOnce(runDir, 40), null);
  const got = readFileSync(seen, 'utf8').trim().split('\n');
  assert.ok(got.length >= 2, `${got.length} workers`);
  // the server's CAPI_TEST_STALE is unset, its CAPI_TEST_NEW replaced by the launch's
  assert.deepEqual(new Set(got), new Set([JSON.stringify([null, 'launch value'])]));
  assert.equal(existsSync(join(runDir, 'session.env')), false, 'session.env removed once read');
});

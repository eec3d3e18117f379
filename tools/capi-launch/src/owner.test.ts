import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool } from '@capi/testkit';
import { isAlive, readJson, runDirOf, sandboxes, until } from './test-support/harness.js';

/**
 * Only the owner controls a run (docs/run-folder.md, "Who may control a run"): folders
 * and run.json another user controls are refused; a pid file naming an unrelated process
 * (a reused pid) never gets it signalled; concurrent launches of one suite start one run.
 */

const box = sandboxes(true);
const strangers: ChildProcess[] = [];
after(() => {
  for (const c of strangers) c.kill('SIGKILL');
});

/** Another local user: a uid no one uses, entered with setpriv (root only). */
const OTHER_UID = 54321;
const canSwitchUser =
  process.getuid?.() === 0 &&
  spawnSync('setpriv', [`--reuid=${OTHER_UID}`, '--regid=54321', '--clear-groups', 'true']).status === 0;
const asOther = (script: string) =>
  spawnSync('setpriv', [`--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups', 'sh', '-c', script], {
    encoding: 'utf8',
  });

async function finishedRun(b: Awaited<ReturnType<typeof box>>): Promise<string> {
  const r = await b.launch([b.suite(6), '--foreground', '--batch-size', '3']);
  assert.equal(r.code, 0, r.stderr);
  return join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
}

test('another user who may write the runs folder swaps in a run with an --on-finish: --resume refuses it, nothing runs', {
  skip: canSwitchUser ? false : 'needs root and setpriv to act as a second local user',
}, async () => {
  const b = await box();
  const mine = await finishedRun(b);
  const pwned = join(b.dir, 'pwned');
  // a shared runs folder: the other user may enter the sandbox and write the runs folder
  chmodSync(b.dir, 0o755);
  chmodSync(b.runs, 0o777);
  const theirs = join(b.runs, 'capi_test_20990101_000000');
  const manifest = readJson<{ id: string; options: Record<string, unknown> }>(join(mine, 'run.json'));
  manifest.id = 'capi_test_20990101_000000';
  manifest.options.onFinish = `touch ${pwned}`;
  const made = asOther(
    `mkdir -m 700 ${theirs} && cat > ${theirs}/run.json <<'J'\n${JSON.stringify(manifest)}\nJ\nchmod 600 ${theirs}/run.json && ln -sfn capi_test_20990101_000000 ${b.runs}/latest.new && mv -T ${b.runs}/latest.new ${b.runs}/latest`,
  );
  assert.equal(made.status, 0, made.stderr);
  const r = await b.launch(['--resume', 'latest', '--foreground']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /runs: writable by others \(mode 0777\): refusing to trust it \(fix: chmod go-w '.*runs'\)/);
  // the runs folder made safe again, their folder is still theirs
  chmodSync(b.runs, 0o755);
  const again = await b.launch(['--resume', 'capi_test_20990101_000000', '--foreground']);
  assert.equal(again.code, 3, again.stderr);
  assert.match(
    again.stderr,
    new RegExp(`capi_test_20990101_000000: owned by uid ${OTHER_UID}, not by you \\(uid 0\\)`),
  );
  for (const action of ['--stop', '--status']) {
    const other = await b.launch([action, theirs]);
    assert.equal(other.code, 3, `${action}: ${other.stderr}`);
  }
  assert.equal(existsSync(pwned), false, 'the other user’s --on-finish never ran');
});

test('a run.json open to other users is refused, saying how to fix it', async () => {
  const b = await box();
  const mine = await finishedRun(b);
  chmodSync(join(mine, 'run.json'), 0o644);
  const r = await b.launch(['--resume', mine, '--foreground']);
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /run\.json: mode 0644, open to other users: refusing to trust it \(fix: chmod 600 '.*run\.json'\)/,
  );
  chmodSync(join(mine, 'run.json'), 0o600);
  chmodSync(mine, 0o770);
  const g = await b.launch(['--status', mine]);
  assert.equal(g.code, 3);
  assert.match(g.stderr, /writable by group \(mode 0770\)/);
});

test('a run id is looked for in the runs folder before the current folder', async () => {
  const b = await box();
  const mine = await finishedRun(b);
  const id = mine.split('/').pop() as string;
  // a look-alike folder in the current folder is not the run
  mkdirSync(join(b.dir, id));
  writeFileSync(join(b.dir, id, 'run.json'), '{"id":"not this one"}', { mode: 0o600 });
  const r = await b.launch(['--status', id], { cwd: b.dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(id));
});

test('batch names from index.json are batch_NNNN only: a path in one is refused', async () => {
  const b = await box();
  const mine = await finishedRun(b);
  const index = join(mine, 'batches', 'index.json');
  const text = readFileSync(index, 'utf8');
  for (const bad of ['../../evil', 'batch_0001/../../x', 'batch_1', '']) {
    writeFileSync(index, text.replace('"batch_0001"', JSON.stringify(bad)));
    const r = await b.launch(['--resume', mine, '--foreground']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /index\.json: field "batches\[0\]\.batch": .* is not a batch name \(batch_NNNN\)/);
  }
});

/** A live process that is not the run's supervisor, its pid then written into the run's pid file. */
function stranger(argv: string[]): number {
  const c = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
  strangers.push(c);
  return c.pid as number;
}

test('a reused pid: a pid file naming an unrelated process (even one whose argv says capi-launch) is never signalled', async () => {
  const b = await box();
  const mine = await finishedRun(b);
  const other = join(b.dir, 'other-run');
  const pids = [
    stranger(['sleep', '1000']),
    stranger([process.execPath, '-e', 'setInterval(() => {}, 1e6)', 'capi-launch', '--supervise', other]),
    stranger(['sh', '-c', 'sleep 1000', 'capi-launch']),
  ];
  await sleep(300);
  for (const pid of pids) {
    const m = readJson<Record<string, unknown>>(join(mine, 'run.json'));
    writeFileSync(join(mine, 'run.json'), JSON.stringify({ ...m, state: 'running', pid }), { mode: 0o600 });
    writeFileSync(join(mine, 'supervisor.pid'), `${pid}\n`, { mode: 0o600 });
    const status = await b.launch(['--status', mine]);
    assert.match(status.stdout, /\bdead\b/, `pid ${pid} is not taken for the supervisor: ${status.stdout}`);
    const stop = await b.launch(['--stop', mine]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout + stop.stderr, /was already gone/);
    assert.equal(isAlive(pid), true, `pid ${pid} was signalled`);
    assert.equal(readJson<{ state: string }>(join(mine, 'run.json')).state, 'stopped');
  }
  // the same for capi-watch (DEAD) and capi-merge --clean (not held back by it)
  const pid = pids[1] as number;
  writeFileSync(join(mine, 'supervisor.pid'), `${pid}\n`, { mode: 0o600 });
  const m = readJson<Record<string, unknown>>(join(mine, 'run.json'));
  writeFileSync(join(mine, 'run.json'), JSON.stringify({ ...m, state: 'running', pid }), { mode: 0o600 });
  const watch = await runTool('capi-watch', [mine, '--summary'], { env: { CAPI_RUNS_DIR: b.runs } });
  assert.match(watch.stdout, /DEAD/, watch.stdout + watch.stderr);
  const clean = await runTool('capi-merge', [mine, '--clean'], { env: { CAPI_RUNS_DIR: b.runs } });
  assert.doesNotMatch(clean.stderr, /supervisor .* is still running/);
  for (const p of pids) assert.equal(isAlive(p), true, `pid ${p} was signalled`);
});

test('three launches of one suite at the same moment: exactly one starts, the others name it', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '200' });
  const suite = b.suite(40);
  const rs = await Promise.all([1, 2, 3].map(() => b.launch([suite, '--nohup', '--batch-size', '10'])));
  const started = rs.filter((r) => r.code === 0);
  assert.equal(started.length, 1, rs.map((r) => `${r.code}: ${r.stderr}`).join('\n'));
  const id = runDirOf((started[0] as { stdout: string }).stdout)
    .split('/')
    .pop() as string;
  for (const r of rs.filter((x) => x.code !== 0)) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`run ${id} of suite\\.csv is still live`));
  }
  assert.deepEqual(
    readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')),
    [id],
  );
  await b.launch(['--stop', id]);
  await until('stopped', () => readJson<{ state: string }>(join(b.runs, id, 'run.json')).state === 'stopped');
});

test('every command printed to paste is shell-quoted: a runs folder with spaces and quotes', async () => {
  const b = await box();
  const runs = join(b.dir, `it's a "runs" $HOME folder`);
  const r = await b.launch([b.suite(4), '--nohup', '--batch-size', '2'], { env: { CAPI_RUNS_DIR: runs } });
  assert.equal(r.code, 0, r.stderr);
  const runDir = (/folder:\s+(.+)/.exec(r.stdout)?.[1] ?? '').trim();
  assert.ok(runDir.startsWith(runs), r.stdout);
  const commands = r.stdout.split('\n').filter((l) => /^\s+(watch|status|stop|resume):/.test(l));
  assert.equal(commands.length, 4, r.stdout);
  for (const line of commands) {
    const command = line.replace(/^\s+\w+:\s+/, '');
    // the tools stand in as shell functions that print the words they were given
    const sh = spawnSync(
      'bash',
      ['-c', `capi-launch() { printf '%s\\n' "$@"; }; capi-watch() { capi-launch "$@"; }; ${command}`],
      { encoding: 'utf8' },
    );
    const words = sh.stdout.trimEnd().split('\n');
    assert.equal(words.at(-1), runDir, `${command} → ${sh.stdout}${sh.stderr}`);
  }
  await until(
    'run end',
    () =>
      !existsSync(join(runDir, 'supervisor.pid')) &&
      readJson<{ state: string }>(join(runDir, 'run.json')).state !== 'running',
  );
});

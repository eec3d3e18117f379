import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { privateTmuxEnv } from '@capi/testkit';
import type { Manifest } from './manifest.js';
import { serverEnvironment, startSupervisor, tmuxEnvDiff } from './start.js';

const hasTmux = spawnSync('sh', ['-c', 'command -v tmux']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'capi-tmux-'));
// a private tmux server, also when the tests run in a tmux window (TMUX set)
const env = privateTmuxEnv(dir);
after(() => {
  spawnSync('tmux', ['kill-server'], { env });
  rmSync(dir, { recursive: true, force: true });
});

test('tmuxEnvDiff: no server, nothing; a server, what differs from its global environment and what it has that we do not', {
  skip: !hasTmux,
}, () => {
  assert.deepEqual(tmuxEnvDiff({ ...env, CAPI_X_SECRET: 'one' }), []);
  const server = spawnSync('tmux', ['new-session', '-d', '-s', 'holder', 'sleep 60'], {
    env: { ...env, CAPI_X_SAME: 'same', CAPI_X_SECRET: 'old', CAPI_X_STALE: 'from the server' },
  });
  assert.equal(server.status, 0, server.stderr?.toString());
  const args = tmuxEnvDiff({ ...env, CAPI_X_SAME: 'same', CAPI_X_SECRET: 'new', CAPI_X_ADDED: 'added' }).map(
    ([k, v]) => `${k}=${v}`,
  );
  assert.ok(args.includes('CAPI_X_SECRET=new'), args.join(' '));
  assert.ok(args.includes('CAPI_X_ADDED=added'), args.join(' '));
  assert.ok(!args.some((a) => a.startsWith('CAPI_X_SAME=')), args.join(' '));
  assert.ok(!args.some((a) => a.startsWith('PATH=')), 'PATH is the same as the server got');
  // the server's variable that this environment does not have: unset, not inherited
  assert.ok(args.includes('CAPI_X_STALE=null'), args.join(' '));
});

test('tmuxEnvDiff: a server value with a newline, quotes or a backslash is read whole, not as one line per variable', {
  skip: !hasTmux,
}, () => {
  const own = mkdtempSync(join(tmpdir(), 'capi-tmux-lines-'));
  const serverEnv = { ...env, TMUX_TMPDIR: own };
  try {
    // a value holding a line that reads like another variable (a .env file or a PEM kept in one)
    const multi = 'first line\nCAPI_X_INNER=inner';
    const odd = 'a"b$c`d\\e\n"; export X;';
    const server = spawnSync('tmux', ['new-session', '-d', '-s', 'holder', 'sleep 60'], {
      env: { ...serverEnv, CAPI_X_MULTI: multi, CAPI_X_ODD: odd },
    });
    assert.equal(server.status, 0, server.stderr?.toString());
    const diff = new Map(tmuxEnvDiff({ ...serverEnv, CAPI_X_MULTI: multi, CAPI_X_ODD: odd, CAPI_X_INNER: 'inner' }));
    // the server has no CAPI_X_INNER (it is inside CAPI_X_MULTI's value): the launch's is passed on
    assert.equal(diff.get('CAPI_X_INNER'), 'inner', JSON.stringify([...diff]));
    // values the server holds exactly as the launch does: nothing to pass
    assert.equal(diff.has('CAPI_X_MULTI'), false, JSON.stringify([...diff]));
    assert.equal(diff.has('CAPI_X_ODD'), false, JSON.stringify([...diff]));
    // and the launch without them: both unset, the inner line no variable of the server's
    const without = new Map(tmuxEnvDiff(serverEnv));
    assert.equal(without.get('CAPI_X_MULTI'), null);
    assert.equal(without.get('CAPI_X_ODD'), null);
    assert.equal(without.has('CAPI_X_INNER'), false, JSON.stringify([...without]));
  } finally {
    spawnSync('tmux', ['kill-server'], { env: serverEnv });
    rmSync(own, { recursive: true, force: true });
  }
});

test('serverEnvironment reads show-environment -s whole: escapes undone, values over lines, removed ones left out', () => {
  const text = 'A="x\nB=y"; export A;\nQ="a\\"b\\$c\\`d\\\\e"; export Q;\nunset GONE;\nE=""; export E;\n';
  assert.deepEqual(
    serverEnvironment(text),
    new Map([
      ['A', 'x\nB=y'],
      ['Q', 'a"b$c`d\\e'],
      ['E', ''],
    ]),
  );
  assert.deepEqual(serverEnvironment(''), new Map());
  // not its shape (the plain NAME=value lines): unread, not half read
  assert.equal(serverEnvironment('A=x\nB=y\n'), null);
});

test('startSupervisor (nohup) returns the spawned supervisor pid also when the run is over before the first look', async () => {
  const runDir = join(dir, 'run');
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const manifest = {
    id: 'capi_test_x',
    method: 'nohup',
    state: 'created',
    pid: null,
    session: null,
    parallel: 1,
    suite: { file: '/x' },
    options: {},
  };
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(manifest));
  // a supervisor that ends at once and leaves run.json's pid null, as a finished run does
  const stand = join(dir, 'quick-supervisor.mjs');
  writeFileSync(
    stand,
    `import { writeFileSync } from 'node:fs';\nconst run = process.argv[process.argv.indexOf('--supervise') + 1];\n` +
      `writeFileSync(run + '/run.json', JSON.stringify({ ...${JSON.stringify(manifest)}, state: 'completed', pid: null }));\n`,
  );
  const pid = await startSupervisor(runDir, manifest as unknown as Manifest, {
    ...process.env,
    CAPI_LAUNCH_BIN: stand,
  });
  assert.ok(pid > 0, `pid ${pid}`);
  assert.notEqual(pid, process.pid);
});

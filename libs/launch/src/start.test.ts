import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Manifest } from './manifest.js';
import { startSupervisor, tmuxEnvDiff } from './start.js';

const hasTmux = spawnSync('sh', ['-c', 'command -v tmux']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'capi-tmux-'));
const env = { ...process.env, TMUX_TMPDIR: dir };
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
  assert.ok(!args.some((a) => a.startsWith('CAPI_X_SAME=')), args.join(' '));
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

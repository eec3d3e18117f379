import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, repoRoot, testEnv } from '@capi/testkit';
import { readJson, runDirOf, type Sandbox, sandboxes, until } from './harness.js';

// scripts/run_capi_tests_background.sh: the guide's interface mapped onto capi-launch.

const script = join(repoRoot, 'scripts/run_capi_tests_background.sh');
const box = sandboxes(true);

function runScript(b: Sandbox, args: string[], env: Record<string, string> = {}) {
  const child = spawn('bash', [script, ...args], {
    cwd: b.dir,
    env: { ...testEnv({ ...b.env, ...env }), NODE: process.execPath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

test('--method batch --parallel N --batch M --file F runs in this terminal with the verdict as exit code', async () => {
  const b = await box();
  const suite = b.suite(30);
  const r = await runScript(b, ['--method', 'batch', '--parallel', '2', '--batch', '10', '--file', suite], {
    FAKE_EXEC_FAIL: 'T0004',
  });
  assert.equal(r.code, 1, r.stderr);
  const m = readJson<{ method: string; parallel: number; batchSize: number; batches: number; verdict: string }>(
    join(b.runs, 'latest', 'run.json'),
  );
  assert.deepEqual([m.method, m.parallel, m.batchSize, m.batches, m.verdict], ['foreground', 2, 10, 3, 'failed']);
});

test('--method nohup starts in the background; --status and --stop reach the run', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await runScript(b, ['--method', 'nohup', '--parallel', '1', '--batch', '10', '--file', b.suite(50)]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  assert.equal(readJson<{ method: string }>(join(runDir, 'run.json')).method, 'nohup');
  const s = await runScript(b, ['--status']);
  assert.match(s.stdout, /running .* nohup .* alive/);
  const stop = await runScript(b, ['--stop']);
  assert.equal(stop.code, 0, stop.stderr);
  await until('stopped', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'stopped');
});

test('a method the guide does not know: exit 2 with the choices', async () => {
  const b = await box();
  const r = await runScript(b, ['--method', 'cron', '--file', b.suite(1)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--method takes one of nohup, screen, tmux, batch \(got "cron"\)/);
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, repoRoot, testEnv } from '@capi/testkit';
import { readJson, runDirOf, type Sandbox, sandboxes, until } from './test-support/harness.js';

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

test('--method batch is the background batch mode: it returns at once; --opt=value forms of every option', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '50', FAKE_EXEC_FAIL: 'T0004' });
  const suite = b.suite(30);
  const started = Date.now();
  const r = await runScript(b, ['--method=batch', '--parallel=2', '--batch=10', `--file=${suite}`, '--rate=1000/s']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 15_000);
  const runDir = runDirOf(r.stdout);
  const m0 = readJson<{ method: string; parallel: number; batchSize: number; batches: number }>(
    join(runDir, 'run.json'),
  );
  assert.deepEqual([m0.method, m0.parallel, m0.batchSize, m0.batches], ['nohup', 2, 10, 3]);
  const m = await until('run end', () => {
    const j = readJson<{ state: string; verdict: string; options: { rate: string } }>(join(runDir, 'run.json'));
    return j.state === 'completed' && j;
  });
  assert.deepEqual([m.verdict, m.options.rate], ['failed', '1000/s']);
  const s = await runScript(b, [`--status=${runDir}`]);
  // The status table (docs/capi-launch.md): state, done and total in their columns.
  assert.match(s.stdout, /^RUN +STATE +DONE +TOTAL /);
  assert.match(s.stdout, /\n\S+ +completed +30 +30 /);
});

test('--method batch --monitor watches the run here and exits with its verdict', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20', FAKE_EXEC_FAIL: 'T0004' });
  const r = await runScript(b, [
    '--method',
    'batch',
    '--parallel',
    '2',
    '--batch',
    '10',
    '--monitor',
    '--file',
    b.suite(30),
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /Status: (RUNNING|FINISHING|COMPLETED)/, 'capi-watch printed its block');
  assert.equal(readJson<{ method: string }>(join(b.runs, 'latest', 'run.json')).method, 'nohup');
});

test('an explicit --foreground runs the batches in this terminal (and says --monitor does nothing then)', async () => {
  const b = await box({ FAKE_EXEC_FAIL: 'T0004' });
  const r = await runScript(b, [
    '--method',
    'batch',
    '--foreground',
    '--monitor',
    '--batch',
    '10',
    '--file',
    b.suite(20),
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /--monitor does nothing with --foreground/);
  assert.equal(readJson<{ method: string }>(join(b.runs, 'latest', 'run.json')).method, 'foreground');
});

test('no arguments and no CAPI_SUITE: the usage and exit 2, nothing launched', async () => {
  const b = await box();
  const r = await runScript(b, []);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no suite to run: name it with --file F \(or set CAPI_SUITE\)/);
  assert.match(r.stderr, /--method nohup\|screen\|tmux\|batch --parallel N --batch M --file F/);
  assert.equal(existsSync(b.runs), false);
  const viaEnv = await runScript(b, [], { CAPI_SUITE: b.suite(5), FAKE_EXEC_DELAY_MS: '1' });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /started \(nohup/);
});

test('--method nohup starts in the background; --status and --stop reach the run', async () => {
  // 300 tests at 100 ms: some 30 s, so the --stop below reaches a live run even when each
  // command takes seconds to start on a loaded machine (a run that completed is not "stopped")
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await runScript(b, ['--method', 'nohup', '--parallel', '1', '--batch', '10', '--file', b.suite(300)]);
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

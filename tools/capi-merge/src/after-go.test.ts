import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { binPath, killAll, runTool, tempDir, testEnv } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { listDir } from './test-support/report-files.js';

// capi-launch starts its merge ahead of the run's end (docs/capi-launch.md, "Supervision"):
// with --after-go it reads and writes nothing until the line `go` on stdin.

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-merge-after-go-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const run = (name: string) =>
  writeRun(join(tmp.path, name), {
    batches: { batch_0001: ['G1', 'G2'].map((id) => testRecord(id)) },
    results: { 'batch_0001.ndjson': lines([result('G1', 'passed', 0), result('G2', 'passed', 1)]) },
  });

test('--after-go: nothing is written before the go line; after it, the merge as without the flag', async () => {
  const dir = await run('go');
  const child = spawn(process.execPath, [binPath('capi-merge'), dir, '--after-go'], {
    env: testEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // not testkit's collect: it would end stdin, which means "no go"
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const closed = once(child, 'close');
  // it has started and waits: still no report/ after it had time to load (nothing to poll for)
  await once(child, 'spawn');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(child.exitCode, null, 'it waits for the go line');
  assert.deepEqual(
    (await listDir(dir)).filter((f) => f === 'report'),
    [],
  );
  child.stdin.end('go\n');
  const [code] = await closed;
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /2 tests, 2 passed/);
  assert.ok((await listDir(join(dir, 'report'))).some((f) => f.startsWith('aggregated_results_')));
});

test('--after-go: stdin ending without the go line merges nothing: exit 3, and no word in the log it shares', async () => {
  const dir = await run('no-go');
  const r = await runTool('capi-merge', [dir, '--after-go'], { input: 'not the word\n' });
  assert.equal(r.code, 3, r.stderr);
  // its output goes to capi.log, whose last line --wait quotes when a supervisor died
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '');
  assert.ok(!(await listDir(dir)).includes('report'));
});

test('--after-go with stdin as an input is a usage error (exit 2): stdin carries the go line', async () => {
  const r = await runTool('capi-merge', ['--after-go'], { input: 'go\n' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--after-go reads stdin for its go line/);
  const s = await runTool('capi-merge', [await run('suite-stdin'), '--suite', '-', '--after-go'], { input: 'go\n' });
  assert.equal(s.code, 2, s.stderr);
});

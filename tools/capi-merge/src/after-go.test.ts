import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { binPath, killAll, runTool, tempDir, testEnv } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { listDir } from './test-support/report-files.js';

// capi-launch starts its merge ahead of the run's end (docs/capi-launch.md, "Supervision"):
// with --after-go it reads only complete files (written over a second before) and writes
// nothing until the line `go` on stdin (libs/merge after-go.test.ts).

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-merge-after-go-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const bothPassed = lines([result('G1', 'passed', 0), result('G2', 'passed', 1)]);
const run = (name: string, results = bothPassed) =>
  writeRun(join(tmp.path, name), {
    batches: { batch_0001: ['G1', 'G2'].map((id) => testRecord(id)) },
    results: { 'batch_0001.ndjson': results },
  });

/** user + system CPU ticks of a process, from /proc (Linux). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Waits (bounded) until the child has loaded and sits idle: its CPU time unchanged over
 * four polls. A merge that did not wait for the go line would have read the run by then.
 */
async function idle(child: ChildProcess): Promise<void> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 300 && still < 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode !== null) return;
    const now = await cpuTicks(child.pid as number);
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** capi-merge `--after-go` on `dir`, started and settled into its wait for the go line (not testkit's collect: it would end stdin, which means "no go"). */
async function waitingMerge(dir: string) {
  const child = spawn(process.execPath, [binPath('capi-merge'), dir, '--after-go'], {
    env: testEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  child.stderr.on('data', (b: Buffer) => {
    text += b.toString();
  });
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const closed = once(child, 'close').then(([code]) => {
    clearTimeout(timer);
    return code as number | null;
  });
  await once(child, 'spawn');
  await idle(child);
  assert.equal(child.exitCode, null, 'it waits for the go line');
  return { child, closed, stderr: () => text };
}

test('--after-go: a journal written while it waits is read, nothing written before the go line; after it, the merge as without the flag', async () => {
  // G2's result comes only after the merge has loaded and waits: it must be in the report
  const dir = await run('go', lines([result('G1', 'passed', 0)]));
  const { child, closed, stderr } = await waitingMerge(dir);
  assert.deepEqual(
    (await listDir(dir)).filter((f) => f === 'report'),
    [],
  );
  await writeFile(join(dir, 'results', 'batch_0001.ndjson'), bothPassed);
  child.stdin.end('go\n');
  const code = await closed;
  assert.equal(code, 0, stderr());
  assert.match(stderr(), /2 tests, 2 passed/);
  assert.ok((await listDir(join(dir, 'report'))).some((f) => f.startsWith('aggregated_results_')));
});

test('--after-go: a batch file changed while the merge waits (read early) is read again after the go', async () => {
  const dir = await run('changed-batch', lines([result('G1', 'passed', 0)]));
  // older than a second: read before the go (a fresher file is not trusted early)
  await new Promise((r) => setTimeout(r, 1100));
  const { child, closed, stderr } = await waitingMerge(dir);
  // one more test in the batch (G3, no result): it must be missing in the report
  await writeFile(join(dir, 'batches', 'batch_0001.ndjson'), lines(['G1', 'G2', 'G3'].map((id) => testRecord(id))));
  await writeFile(join(dir, 'results', 'batch_0001.ndjson'), bothPassed);
  child.stdin.end('go\n');
  const code = await closed;
  assert.equal(code, 1, stderr());
  assert.match(stderr(), /3 tests, 2 passed, 0 failed, 0 errors, 0 skipped, 1 missing/);
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

test('--after-go: a usage error found from the inputs is told only after the go (exit 2), and not at all without one (exit 3)', async () => {
  const dir = await run('usage-after-go');
  for (const extra of [['--auto-id'], ['--show', '']]) {
    const told = await runTool('capi-merge', [dir, ...extra, '--after-go'], { input: 'go\n' });
    assert.equal(told.code, 2, `${extra.join(' ')}: ${told.stderr}`);
    assert.match(told.stderr, extra[0] === '--show' ? /--show takes a test id/ : /--auto-id names the rows/);
    const none = await runTool('capi-merge', [dir, ...extra, '--after-go'], { input: 'not the word\n' });
    assert.equal(none.code, 3, `${extra.join(' ')}: ${none.stderr}`);
    assert.equal(none.stderr, '');
    assert.ok(!(await listDir(dir)).includes('report'));
  }
});

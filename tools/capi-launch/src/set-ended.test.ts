import assert from 'node:assert/strict';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchInBackground, readJson, runDirOf, sandboxes, until } from './test-support/harness.js';

// docs/capi-launch.md "Control": --set (and --pause, --continue) checks the run again as it
// writes, holding run.json.lock, under which the supervisor writes its end: a run that
// ended between the first look and the write is refused, with neither file changed.

const box = sandboxes(true);

interface Run {
  state: string;
  pid: number | null;
  options: { rate: string | null };
}

test('--set while the supervisor writes the run’s end: it waits for run.json.lock, then refuses the ended run (exit 2), control.json and run.json as the end left them', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '50' });
  const r = await b.launch([b.suite(2000), '--parallel', '1', '--batch-size', '2000']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = runDirOf(r.stdout);
  const runJson = join(runDir, 'run.json');
  await until('running', () => readJson<Run>(runJson).state === 'running');
  const control = readFileSync(join(runDir, 'control.json'), 'utf8');
  // the supervisor's end as it writes it: run.json.lock held by a live process (this test)
  const lock = `${runJson}.lock`;
  writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  // kept fresh: a lock older than 5 s is taken for one whose writer died
  const fresh = setInterval(() => utimesSync(lock, new Date(), new Date()), 500);
  try {
    const { child, said, ended: set } = launchInBackground(b, ['--set', 'rate=5/s', runDir], 30_000);
    await until('--set waiting', () => /waiting for \S+run\.json\.lock/.test(said()) || child.exitCode !== null);
    assert.equal(child.exitCode, null, `--set waits for the lock: ${said()}`);
    writeFileSync(
      runJson,
      `${JSON.stringify({ ...readJson<Run>(runJson), state: 'completed', verdict: 'passed', pid: null, finished: new Date().toISOString() }, null, 2)}\n`,
    );
    clearInterval(fresh);
    rmSync(lock);
    const s = await set;
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stderr, /--set: run \S+ is not running \(completed\): --set changes a live run/);
    assert.equal(readFileSync(join(runDir, 'control.json'), 'utf8'), control, 'control.json unchanged');
    const m = readJson<Run>(runJson);
    assert.deepEqual([m.state, m.options.rate], ['completed', null], 'the end stays, the rate is not written');
  } finally {
    clearInterval(fresh);
    rmSync(lock, { force: true });
  }
});

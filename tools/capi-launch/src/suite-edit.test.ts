import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeExec, journalIds, readJson, sandboxes } from './test-support/harness.js';

// the real capi-split (suites are compared by its records), the stand-in capi-exec
const box = sandboxes(false);
const env = { CAPI_EXEC_BIN: fakeExec, FAKE_EXEC_DELAY_MS: '1' };

const runIds = (runs: string) =>
  readdirSync(runs)
    .filter((n) => n.startsWith('capi_test_'))
    .sort();

function writeSuite(file: string, rows: Array<[string, string]>): void {
  writeFileSync(file, `id,url\n${rows.map(([id, url]) => `${id},${url}`).join('\n')}\n`);
}
const rows = (n: number): Array<[string, string]> =>
  Array.from({ length: n }, (_, i) => [`T${String(i + 1).padStart(4, '0')}`, `/items/${i + 1}`]);

interface RunJson {
  state: string;
  parallel: number;
  batchSize: number;
  batches: number;
  suite: { sha256: string };
  options: { concurrency: number | null; rate: string | null; maxRestarts: number; varsColumns?: string[] };
}

test("--batch is the guide's spelling of --batch-size", async () => {
  const b = await box(env);
  const r = await b.launch([b.suite(30), '--batch', '10', '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  const run = readJson<RunJson>(join(b.runs, runIds(b.runs)[0] as string, 'run.json'));
  assert.deepEqual([run.batchSize, run.batches], [10, 3]);
  const both = await b.launch([b.suite(30), '--batch', '10', '--batch-size', '5', '--foreground']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --batch-size or --batch \(the same option\), not both/);
});

test('run options given with --resume are applied, and batch options refused, never ignored', async () => {
  const b = await box(env);
  const r = await b.launch([b.suite(20), '--batch-size', '10', '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, runIds(b.runs)[0] as string);
  const before = readFileSync(join(runDir, 'run.json'), 'utf8');
  for (const [flag, value] of [
    ['--batch-size', '5'],
    ['--batch', '5'],
    ['--max-batch-size', '50'],
    ['--lenient', null],
    ['--vars-columns', 'x'],
    ['--auto-id', null],
  ] as const) {
    const refused = await b.launch(['--resume', runDir, flag, ...(value ? [value] : []), '--foreground']);
    assert.equal(refused.code, 2, flag);
    assert.match(refused.stderr, /cannot change on --resume: run capi_test_\S+'s batches are already split/);
    assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, `${flag}: nothing changed`);
  }
  const resumed = await b.launch([
    '--resume',
    runDir,
    '--concurrency',
    '8',
    '--rate',
    '20/s',
    '--parallel',
    '2',
    '--max-restarts',
    '5',
    '--foreground',
  ]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /for the rest of the run: rate 20\/s, concurrency 8, parallel 2, maxRestarts 5/);
  const control = readJson<{ concurrency: number; rate: string }>(join(runDir, 'control.json'));
  assert.deepEqual([control.concurrency, control.rate], [8, '20/s']);
  const run = readJson<RunJson>(join(runDir, 'run.json'));
  assert.deepEqual(
    [run.parallel, run.options.concurrency, run.options.rate, run.options.maxRestarts],
    [2, 8, '20/s', 5],
  );
});

test('--resume of a run whose suite was edited says what changed and refuses unless --force', async () => {
  const b = await box(env);
  const suite = join(b.dir, 'suite.csv');
  writeSuite(suite, rows(30));
  const r = await b.launch([suite, '--batch-size', '10', '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, runIds(b.runs)[0] as string);
  // rows moved and a blank line: the file changed, no test did
  const moved = rows(30);
  moved.unshift(moved.pop() as [string, string]);
  writeSuite(suite, moved);
  const same = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stderr, /suite\.csv changed since run capi_test_\S+ was launched, but none of its tests did/);
  // a test changed, one removed, two added
  const edited = rows(32).filter(([id]) => id !== 'T0010');
  edited[4] = ['T0005', '/items/5?v=2'];
  writeSuite(suite, edited);
  const before = readFileSync(join(runDir, 'run.json'), 'utf8');
  const refused = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /--resume: suite\.csv changed since run capi_test_\S+ was launched: 2 tests added \(T0031, T0032\), 1 test removed \(T0010\), 1 test changed \(T0005\); a resume runs the tests as they were split at launch: --force resumes with them anyway/,
  );
  assert.equal(readFileSync(join(runDir, 'run.json'), 'utf8'), before, 'a refused resume changes nothing');
  const forced = await b.launch(['--resume', runDir, '--force', '--foreground']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /--force: suite\.csv changed .*; resuming with the tests as they were split at launch/);
  writeFileSync(suite, 'id,url\nT1,/a,extra\n');
  const broken = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /splitting suite\.csv: \S*suite\.csv:2: row has 3 cells, the header has 2/);
});

test('--rerun-failed takes the current suite version of each failed test, and says so', async () => {
  const b = await box(env);
  const suite = join(b.dir, 'suite.csv');
  writeSuite(suite, rows(30));
  const r = await b.launch([suite, '--batch-size', '10', '--foreground'], {
    env: { FAKE_EXEC_FAIL: 'T0003,T0007,T0025' },
  });
  assert.equal(r.code, 1, r.stderr);
  const first = join(b.runs, runIds(b.runs)[0] as string);
  const edited = rows(30).filter(([id]) => id !== 'T0007');
  edited[2] = ['T0003', '/items/3?fixed=1'];
  writeSuite(suite, edited);
  const again = await b.launch(['--rerun-failed', first, '--foreground', '--concurrency', '3']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stderr,
    /the suite changed since capi_test_\S+: took the current version of the 2 failed tests \(1 of them changed\); 1 is no longer in the suite \(T0007\)/,
  );
  const second = join(b.runs, runIds(b.runs)[1] as string);
  assert.deepEqual([...journalIds(second).keys()].sort(), ['T0003', 'T0025']);
  const batch = readFileSync(join(second, 'batches', 'batch_0001.ndjson'), 'utf8');
  assert.match(batch, /"url":"\/items\/3\?fixed=1"/, 'the current version ran');
  const run = readJson<RunJson>(join(second, 'run.json'));
  assert.equal(run.suite.sha256, createHash('sha256').update(readFileSync(suite)).digest('hex'));
  assert.equal(run.options.concurrency, 3, '--concurrency given with --rerun-failed is applied');
});

test('--vars-columns is passed to capi-split and kept with the run', async () => {
  const b = await box(env);
  const suite = join(b.dir, 'vars.csv');
  writeFileSync(suite, 'id,url,region\nT1,/a,eu\nT2,/b,us\n');
  const refused = await b.launch([suite, '--foreground']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /column 3 "region" is not a suite column and no \{\{template\}\} uses it/);
  assert.deepEqual(runIds(b.runs), [], 'no run left behind');
  const r = await b.launch([suite, '--vars-columns', 'region', '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, runIds(b.runs)[0] as string);
  assert.deepEqual(readJson<RunJson>(join(runDir, 'run.json')).options.varsColumns, ['region']);
  // the resume's comparison splits the edited suite the same way
  writeFileSync(suite, 'id,url,region\nT1,/a,eu\nT2,/b,us\nT3,/c,eu\n');
  const resumed = await b.launch(['--resume', runDir, '--foreground']);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /1 test added \(T3\)/);
});

import assert from 'node:assert/strict';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAll, runTool, tempDir } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { copyFixture, listDir } from './test-support/report-files.js';

/**
 * Reports and files that hold up (docs/capi-merge.md): one report set per report folder
 * with stable `latest` names, several runs only into a folder named for them, malformed
 * lines skipped only when asked (and counted), a bad glob as bad usage.
 */

let tmp: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  tmp = await tempDir('capi-merge-set-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});
const dir = (name: string) => join(tmp.path, name);
const SET = /^(aggregated_results_\d{8}_\d{6}\.(json|csv)|test_summary_report_\d{8}_\d{6}\.txt)$/;

test('merging a run again replaces its report set; latest names point at the newest', async () => {
  const run = await copyFixture('clean-run', dir('again'));
  const report = join(run, 'report');
  const first = await runTool('capi-merge', [run, '--junit', join(report, 'junit.xml')]);
  assert.equal(first.code, 0, first.stderr);
  const firstSet = (await listDir(report)).filter((n) => SET.test(n));
  assert.equal(firstSet.length, 3, firstSet.join(' '));
  await writeFile(join(report, 'notes.txt'), 'mine\n');
  // the names carry the second of the merge
  await sleep(1100);
  const second = await runTool('capi-merge', [run]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /replaced the earlier report set \(3 files\)/);
  const names = await listDir(report);
  const set = names.filter((n) => SET.test(n));
  assert.equal(set.length, 3, names.join(' '));
  assert.ok(
    set.every((n) => !firstSet.includes(n)),
    'the earlier set is gone',
  );
  assert.ok(names.includes('notes.txt') && names.includes('junit.xml'), 'other files stay');
  const txt = set.find((n) => n.endsWith('.txt')) as string;
  assert.equal(await readlink(join(report, 'test_summary_report_latest.txt')), txt);
  assert.equal(
    await readFile(join(report, 'aggregated_results_latest.csv'), 'utf8'),
    await readFile(join(report, set.find((n) => n.endsWith('.csv')) as string), 'utf8'),
  );
  assert.ok(names.includes('aggregated_results_latest.json'));
});

test("several runs need --report-dir: never written into the first run's report/", async () => {
  const a = await copyFixture('clean-run', dir('a'));
  const b = await copyFixture('clean-run', dir('b'));
  const before = await listDir(join(a, 'report'));
  const r = await runTool('capi-merge', [a, b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^capi-merge: merging 2 runs needs an output folder: --report-dir DIR/);
  assert.deepEqual(await listDir(join(a, 'report')), before);
  const out = dir('both');
  const ok = await runTool('capi-merge', [a, b, '--report-dir', out]);
  assert.ok(ok.code === 0 || ok.code === 1, ok.stderr);
  assert.equal((await listDir(out)).filter((n) => SET.test(n)).length, 3);
  assert.deepEqual(await listDir(join(a, 'report')), before);
});

test('a corrupt line mid-journal: exit 2 naming it; --skip-bad-lines skips, warns and counts each', async () => {
  const run = await writeRun(dir('corrupt'), {
    batches: { batch_0001: ['B1', 'B2', 'B3'].map((id) => testRecord(id)) },
    results: {
      'batch_0001.ndjson': `${lines([result('B1', 'passed', 0)])}{"id":"B2","sta\n{"not":"a result"}\n${lines([result('B3', 'passed', 2)])}`,
    },
  });
  const strict = await runTool('capi-merge', [run]);
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /results\/batch_0001\.ndjson:2: malformed JSON/);
  const r = await runTool('capi-merge', [run, '--skip-bad-lines']);
  // B2's only line was bad: it is missing, so the run fails; nothing is silent
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /warning: .*results\/batch_0001\.ndjson:2: malformed JSON.* \(skipped: --skip-bad-lines\)/);
  assert.match(r.stderr, /warning: .*results\/batch_0001\.ndjson:3: .* \(skipped: --skip-bad-lines\)/);
  assert.match(r.stderr, /skipped 2 malformed lines \(--skip-bad-lines\)/);
  assert.match(r.stderr, /3 tests, 2 passed, 0 failed, 0 errors, 0 skipped, 1 missing/);
});

test('an invalid glob is exit 2 with one line, not a stack trace', async () => {
  const run = await copyFixture('clean-run', dir('glob'));
  for (const pattern of ['results/[z-a].ndjson', 'res[9-0]lts/*.ndjson']) {
    const r = await runTool('capi-merge', [pattern], { cwd: run });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^capi-merge: invalid glob "[^"]+": range out of order in character class\n/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

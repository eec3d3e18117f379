import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateResultRecord } from '@capi/core';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';
import { parse } from 'csv-parse/sync';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { copyFixture, listDir, readDefaultReports } from './test-support/report-files.js';

type Row = Record<string, string>;
const csvRows = (text: string): Row[] => parse(text, { columns: true }) as Row[];

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-merge-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const dir = (name: string) => join(tmp.path, name);

test('a clean run: exit 0, the three reports in report/ with the guide names, nothing on stdout', async () => {
  const run = await copyFixture('clean-run', dir('clean'));
  const r = await runTool('capi-merge', [run]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /6 tests, 6 passed, 0 failed, 0 errors, 0 skipped, 0 missing, 0 flaky; pass rate 100\.00%: PASSED/,
  );
  const rep = await readDefaultReports(join(run, 'report'));
  assert.equal(rep.json.summary.counts.total, 6);
  assert.equal(rep.json.summary.counts.passed, 6);
  assert.equal(rep.json.meta.verdict, 'passed');
  assert.deepEqual(
    rep.json.tests.map((t: { id: string }) => t.id),
    ['C1', 'C2', 'C3', 'C4', 'C5', 'C6'],
  );
  const rows = csvRows(rep.csv);
  assert.equal(rows.length, 6);
  assert.deepEqual(Object.keys(rows[0] as Row), [
    'id',
    'name',
    'status',
    'http_status',
    'duration_ms',
    'attempts',
    'failure',
    'error',
    'batch',
    'tags',
    'host',
  ]);
  assert.deepEqual(rows[0], {
    id: 'C1',
    name: 'get item C1',
    status: 'passed',
    http_status: '200',
    duration_ms: '50',
    attempts: '1',
    failure: '',
    error: '',
    batch: 'batch_0001',
    tags: 'smoke',
    host: '',
  });
  assert.match(rep.txt, /verdict: PASSED/);
  assert.match(rep.txt, /pass rate: 100\.00%/);
  // Wall time: first start 10:30:00.000 to last end 10:30:00.500 + 100 ms.
  assert.match(rep.txt, /wall time:\s+600\.0 ms/);
  assert.match(rep.txt, /throughput: 10\.00 tests\/s/);
  assert.match(rep.txt, /per tag\n.*\n.*\napi\s+3\s+3/);
  assert.match(rep.txt, /per batch\n.*\n.*\nbatch_0001\s+3\s+3/);
  assert.match(rep.txt, /slowest 6\n.*\n.*\nC6\s+get item C6\s+passed\s+100\.0 ms/);
});

test('resumes and reruns: each id once, the later record wins, attempts summed, failed-then-passed is flaky', async () => {
  const run = await writeRun(dir('resumed'), {
    batches: { batch_0001: ['R1', 'R2', 'R3'].map((id) => testRecord(id)) },
    results: {
      // R2 failed, the run crashed, a resume ran R3, a rerun of failures passed R2.
      'batch_0001.ndjson': lines([
        result('R1', 'passed', 0),
        result('R2', 'failed', 1),
        result('R3', 'error', 2, { attempts: 3 }),
        result('R3', 'passed', 5, { attempts: 2 }),
      ]),
    },
  });
  // A rerun file read after the run folder, but it started earlier: the run's later R2 record still wins.
  const late = dir('rerun-old.ndjson');
  await writeFile(late, lines([result('R1', 'failed', -10)]));
  const rerun = dir('rerun.ndjson');
  await writeFile(rerun, lines([result('R2', 'passed', 9, { durationMs: 42 })]));
  const r = await runTool('capi-merge', [run, late, rerun, '--output-json', '-', '--output-csv', dir('resumed.csv')]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const byId = new Map(out.tests.map((t: { id: string }) => [t.id, t]));
  assert.equal(out.tests.length, 3);
  assert.deepEqual(
    out.tests.map((t: { id: string; status: string; attempts: number; flaky: boolean }) => [
      t.id,
      t.status,
      t.attempts,
      t.flaky,
    ]),
    [
      ['R1', 'passed', 2, true],
      ['R2', 'passed', 2, true],
      ['R3', 'passed', 5, true],
    ],
  );
  assert.equal((byId.get('R2') as { durationMs: number }).durationMs, 42);
  assert.equal(out.summary.recordsRead, 6);
  assert.equal(out.summary.superseded, 3);
  assert.deepEqual(out.summary.flaky, ['R1', 'R2', 'R3']);
  const csv = csvRows(await readFile(dir('resumed.csv'), 'utf8'));
  assert.deepEqual(
    csv.map((row) => [row.id, row.attempts]),
    [
      ['R1', '2'],
      ['R2', '2'],
      ['R3', '5'],
    ],
  );
});

test('missing ids: reported, counted, in every output, and exit 1', async () => {
  const run = await writeRun(dir('missing'), {
    batches: {
      batch_0001: ['M1', 'M2'].map((id) => testRecord(id)),
      batch_0002: [testRecord('M3', 'never ran'), testRecord('M4', 'disabled', [], false)],
    },
    results: { 'batch_0001.ndjson': lines([result('M1', 'passed', 0), result('M2', 'passed', 1)]) },
  });
  const junit = dir('missing.xml');
  const r = await runTool('capi-merge', [run, '--junit', junit]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /1 missing/);
  const rep = await readDefaultReports(join(run, 'report'));
  assert.equal(rep.json.summary.counts.missing, 1);
  assert.equal(rep.json.summary.counts.skipped, 1);
  assert.deepEqual(rep.json.summary.missing, ['M3']);
  const m3 = rep.json.tests.find((t: { id: string }) => t.id === 'M3');
  assert.equal(m3.status, 'missing');
  assert.equal(m3.batch, 'batch_0002');
  const rows = csvRows(rep.csv);
  assert.equal(rows.find((x) => x.id === 'M3')?.status, 'missing');
  assert.match(rep.txt, /missing \(1\)\n {2}M3/);
  assert.match(rep.txt, /pass rate: 66\.67%/);
  const xml = await readFile(junit, 'utf8');
  assert.match(
    xml,
    /<testcase classname="batch_0002" name="M3 never ran" time="0\.000"><error message="missing: no result recorded" type="missing">/,
  );
});

test('a suite CSV names ids that loose result files do not have', async () => {
  const suite = dir('suite.csv');
  await writeFile(suite, 'ID,Name,URL,Tags,Enabled\nS1,first,/a,smoke,\nS2,second,/b,smoke;slow,\nS3,third,/c,,no\n');
  const res = dir('loose.ndjson');
  await writeFile(res, lines([result('S1', 'passed', 0, { batch: null })]));
  const r = await runTool('capi-merge', [
    res,
    '--suite',
    suite,
    '--output-json',
    '-',
    '--output-csv',
    dir('s.csv'),
    '--output-report',
    dir('s.txt'),
  ]);
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    out.tests.map((t: { id: string; status: string; name: string }) => [t.id, t.status, t.name]),
    [
      ['S1', 'passed', 'name of S1'],
      ['S2', 'missing', 'second'],
      ['S3', 'skipped', 'third'],
    ],
  );
  assert.deepEqual(out.tests[1].tags, ['smoke', 'slow']);
});

test('--auto-id: a suite CSV without ids meets the ids capi-split --auto-id gave its records', async () => {
  const cwd = dir('auto-id');
  await mkdir(cwd, { recursive: true });
  await writeFile(join(cwd, 'suite.csv'), 'name,url\nfirst,/a\n"second\nrow",/b\n\nthird,/c\nfourth,/d\n');
  const split = await runTool('capi-split', ['suite.csv', '--auto-id'], { cwd });
  assert.equal(split.code, 0, split.stderr);
  const ids = parseLines(split.stdout).map((r) => (r as { id: string }).id);
  assert.deepEqual(ids, ['row-2', 'row-3', 'row-6', 'row-7']);
  // three of the four ran
  await writeFile(join(cwd, 'r.ndjson'), lines(ids.slice(0, 3).map((id) => result(id, 'passed', 0, { batch: null }))));
  const out = ['--output-json', '-', '--output-csv', 'o.csv', '--output-report', 'o.txt'];
  const r = await runTool('capi-merge', ['r.ndjson', '--suite', 'suite.csv', '--auto-id', ...out], { cwd });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout).tests.map((t: { id: string; status: string }) => [t.id, t.status]),
    [
      ['row-2', 'passed'],
      ['row-3', 'passed'],
      ['row-6', 'passed'],
      ['row-7', 'missing'],
    ],
  );
  const without = await runTool('capi-merge', ['r.ndjson', '--suite', 'suite.csv', ...out], { cwd });
  assert.equal(without.code, 2);
  assert.match(without.stderr, /^capi-merge: suite\.csv:1: field "id": the suite has no id column \(with --auto-id/);
  // an id capi-split would give twice (a row-3 written by hand, then a row 3 without one): refused, as capi-split refuses it
  await writeFile(join(cwd, 'twice.csv'), 'id,url\nrow-3,/a\n,/b\n');
  const twice = await runTool('capi-merge', ['r.ndjson', '--suite', 'twice.csv', '--auto-id', ...out], { cwd });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /^capi-merge: twice\.csv:3: duplicate id "row-3": the suite names it twice/);
  await writeFile(join(cwd, 'dup.csv'), 'id,url\nD1,/a\nD2,/b\nD1,/c\n');
  const dup = await runTool('capi-merge', ['r.ndjson', '--suite', 'dup.csv', ...out], { cwd });
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /^capi-merge: dup\.csv:4: duplicate id "D1": the suite names it twice/);
  const alone = await runTool('capi-merge', ['r.ndjson', '--auto-id', ...out], { cwd });
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--auto-id names the rows of a --suite CSV: give the suite with --suite FILE/);
});

test('--suite: a missing file or a folder is exit 2 naming it; - reads the suite from stdin', async () => {
  const cwd = dir('suite-path');
  await mkdir(join(cwd, 'afolder'), { recursive: true });
  await writeFile(join(cwd, 'r.ndjson'), lines([result('P1', 'passed', 0)]));
  const out = ['--output-report', '-'];
  const missing = await runTool('capi-merge', ['r.ndjson', '--suite', 'nope.csv', ...out], { cwd });
  assert.equal(missing.code, 2, missing.stderr);
  assert.equal(missing.stderr, 'capi-merge: nope.csv: no such file\n');
  assert.equal(missing.stdout, '');
  const folder = await runTool('capi-merge', ['r.ndjson', '--suite', 'afolder', ...out], { cwd });
  assert.equal(folder.code, 2, folder.stderr);
  assert.match(folder.stderr, /^capi-merge: afolder: is a folder: --suite takes a suite file/);
  const piped = await runTool('capi-merge', ['r.ndjson', '--suite', '-', ...out], { cwd, input: 'id\nP1\nP2\n' });
  assert.equal(piped.code, 1, piped.stderr);
  assert.match(piped.stdout, /missing \(1\)\n {2}P2/);
  for (const args of [
    ['--suite', '-'],
    ['-', '--suite', '-'],
  ]) {
    const both = await runTool('capi-merge', [...args, ...out], { cwd, input: 'id\nP1\n' });
    assert.equal(both.code, 2, both.stderr);
    assert.match(
      both.stderr,
      /^capi-merge: --suite - reads the suite from stdin, so results cannot come from stdin too/,
    );
  }
  assert.deepEqual((await listDir(cwd)).sort(), ['afolder', 'r.ndjson']);
});

test('--suite format comes from the content: a CSV named suite.txt is read as CSV', async () => {
  const cwd = dir('sniff');
  await mkdir(cwd);
  await writeFile(join(cwd, 'suite.txt'), '\uFEFFID,URL\r\nQ1,/a\r\nQ2,/b\r\n');
  await writeFile(join(cwd, 'r.ndjson'), lines([result('Q1', 'passed', 0)]));
  const r = await runTool('capi-merge', ['r.ndjson', '--suite', 'suite.txt', '--output-json', '-'], { cwd });
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    out.tests.map((t: { id: string; status: string }) => [t.id, t.status]),
    [
      ['Q1', 'passed'],
      ['Q2', 'missing'],
    ],
  );
});

test('test records piped in instead of results: exit 2 saying they look like capi-split output', async () => {
  const r = await runTool('capi-merge', ['--junit', dir('tr.xml')], { input: lines([testRecord('T1')]) });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^capi-merge: <stdin>:1: this looks like a test record from capi-split \(request\/expect, no status\), not a result from capi-exec/,
  );
});

test('results of several shards and machines merge into one; loose files report into the current folder', async () => {
  const cwd = dir('shards');
  for (const [m, ids] of [
    ['m1', ['X1', 'X3']],
    ['m2', ['X2', 'X4']],
  ] as const) {
    await mkdir(join(cwd, 'machines', m, 'results'), { recursive: true });
    await writeFile(
      join(cwd, 'machines', m, 'results', 'batch_0001.ndjson'),
      lines(
        ids.map((id, i) => result(id, id === 'X4' ? 'failed' : 'passed', i, { shard: m === 'm1' ? '1/2' : '2/2' })),
      ),
    );
  }
  const suite = join(cwd, 'suite.ndjson');
  await writeFile(suite, lines(['X1', 'X2', 'X3', 'X4'].map((id) => testRecord(id))));
  const r = await runTool('capi-merge', ['machines/*/results/*.ndjson', '--suite', 'suite.ndjson'], { cwd });
  assert.equal(r.code, 1, r.stderr);
  const rep = await readDefaultReports(cwd);
  assert.equal(rep.json.summary.counts.total, 4);
  assert.equal(rep.json.summary.counts.failed, 1);
  assert.equal(rep.json.summary.counts.missing, 0);
  assert.deepEqual(rep.json.meta.inputs, [
    'machines/m1/results/batch_0001.ndjson',
    'machines/m2/results/batch_0001.ndjson',
  ]);
  assert.deepEqual(
    rep.json.tests.map((t: { shard: string }) => t.shard),
    ['1/2', '2/2', '1/2', '2/2'],
  );
  assert.match(rep.txt, /failures by reason\n\s+1\s+status expected 2xx, got N\n\s+e\.g\. X4/);
});

test("globs pass over capi's sidecars, a trailing ** matches every file below, a results folder is read as its files", async () => {
  const cwd = dir('sidecars');
  const results = join(cwd, 'machines', 'a', 'results');
  await mkdir(results, { recursive: true });
  await writeFile(join(results, 'shard.ndjson'), lines([result('G1', 'passed', 0), result('G2', 'passed', 1)]));
  await writeFile(join(results, 'shard.ndjson.meta.json'), '{"version":1,"fingerprint":"fnv1a32-request.expect/v1"}');
  await writeFile(join(results, 'shard.ndjson.lock'), '12345\n');
  await writeFile(join(results, 'shard.ndjson.status.json'), '{"state":"running"}');
  await writeFile(join(results, 'shard.ndjson.tmp-123-0a1b2c3d'), '{"half":');
  const out = ['--output-json', '-'];
  for (const arg of ['machines/*/results/*', 'machines/**', 'machines/a/results']) {
    const r = await runTool('capi-merge', [arg, ...out], { cwd });
    assert.equal(r.code, 0, `${arg}: ${r.stderr}`);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(json.meta.inputs, ['machines/a/results/shard.ndjson'], arg);
    assert.equal(json.summary.counts.passed, 2, arg);
  }
  await mkdir(join(cwd, 'empty'));
  const empty = await runTool('capi-merge', ['empty', ...out], { cwd });
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(
    empty.stderr,
    /^capi-merge: empty: not a run folder \(no run\.json, results\/ or batches\/\) and no \*\.ndjson result files in it\n/,
  );
  const onlySidecars = await runTool('capi-merge', ['machines/a/results/*.json', ...out], { cwd });
  assert.equal(onlySidecars.code, 2, onlySidecars.stderr);
  assert.match(onlySidecars.stderr, /only capi's sidecar files match this pattern/);
});

test('a torn last line is skipped with a warning naming file and line', async () => {
  const run = await writeRun(dir('torn'), {
    batches: { batch_0001: ['T1', 'T2'].map((id) => testRecord(id)) },
    results: { 'batch_0001.ndjson': `${lines([result('T1', 'passed', 0)])}{"id":"T2","status":"pas` },
  });
  const r = await runTool('capi-merge', [
    run,
    '--output-json',
    '-',
    '--output-csv',
    dir('t.csv'),
    '--output-report',
    dir('t.txt'),
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /capi-merge: warning: .*torn\/results\/batch_0001\.ndjson:2: torn last line ignored/);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    out.tests.map((t: { id: string; status: string }) => [t.id, t.status]),
    [
      ['T1', 'passed'],
      ['T2', 'missing'],
    ],
  );
});

test('a malformed line in the middle: exit 2 naming file and line, and nothing written', async () => {
  const run = await writeRun(dir('bad'), {
    batches: { batch_0001: ['B1', 'B2'].map((id) => testRecord(id)) },
    results: {
      'batch_0001.ndjson': `${lines([result('B1', 'passed', 0)])}{not json\n${lines([result('B2', 'passed', 1)])}`,
    },
  });
  const r = await runTool('capi-merge', ['bad', '--junit', 'bad.xml', '--html', 'bad.html', '--clean'], {
    cwd: tmp.path,
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^capi-merge: bad\/results\/batch_0001\.ndjson:2: malformed JSON: /);
  assert.equal(r.stdout, '');
  assert.deepEqual(await listDir(join(run, 'report')), []);
  assert.deepEqual(await listDir(join(run, 'batches')), ['batch_0001.ndjson']);
  assert.ok(!(await listDir(tmp.path)).includes('bad.xml'));
});

test('a record with a bad field: exit 2 naming file, line and field', async () => {
  const file = dir('badfield.ndjson');
  await writeFile(file, lines([result('F1', 'passed', 0), { ...result('F2', 'passed', 1), status: 'great' }]));
  const r = await runTool('capi-merge', [file, '--output-json', '-'], { cwd: tmp.path });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^capi-merge: badfield\.ndjson:2: field "status": must be one of passed, failed, error, skipped\n/,
  );
});

test('tags that are not strings: exit 2 naming file, line and field, no report written (not a crash)', async () => {
  for (const [n, tags] of [[1], [null], 'smoke', { a: 1 }].entries()) {
    const file = dir(`badtags${n}.ndjson`);
    await writeFile(
      file,
      lines([
        { ...result('G1', 'failed', 0), tags: ['b', 'a'] },
        { ...result('G2', 'failed', 1), tags },
      ]),
    );
    const [json, csv, xml, html] = ['json', 'csv', 'xml', 'html'].map((ext) => dir(`badtags${n}.${ext}`)) as [
      string,
      string,
      string,
      string,
    ];
    const out = [json, csv, xml, html];
    const r = await runTool(
      'capi-merge',
      [file, '--output-json', json, '--output-csv', csv, '--junit', xml, '--html', html],
      {
        cwd: tmp.path,
      },
    );
    assert.equal(r.code, 2, `${JSON.stringify(tags)}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `capi-merge: badtags${n}.ndjson:2: field "tags": must be an array of strings\n`,
      JSON.stringify(tags),
    );
    assert.equal(r.stdout, '');
    const left = await listDir(tmp.path);
    for (const f of out) assert.ok(!left.includes(basename(f)), `${f} was written`);
  }
});

test('--fail-if: pass_rate replaces the default rule; the summary says which rules held and decided', async () => {
  const results = Array.from({ length: 100 }, (_, i) =>
    result(`P${i}`, i === 0 ? 'failed' : 'passed', i * 0.01, { durationMs: i + 1, batch: null }),
  );
  const file = dir('thresholds.ndjson');
  await writeFile(file, lines(results));
  const base = [file, '--output-json', dir('th.json'), '--output-csv', dir('th.csv')];
  const held = await runTool('capi-merge', [
    ...base,
    '--fail-if',
    'pass_rate<98%',
    '--fail-if',
    'p95>800ms',
    '--output-report',
    '-',
  ]);
  assert.equal(held.code, 0, held.stderr);
  assert.match(held.stdout, /verdict: PASSED/);
  assert.match(held.stdout, /held {5}pass_rate<98% +--fail-if +\(actual 99\)/);
  assert.match(held.stdout, /held {5}p95>800ms +--fail-if +\(actual 95\)/);
  assert.doesNotMatch(held.stdout, /failed>0/, 'pass_rate replaced the default rule');
  assert.match(held.stderr, /every rule held/);
  const crossed = await runTool('capi-merge', [
    ...base,
    '--fail-if',
    'pass_rate<99.5%',
    '--fail-if=p99>0.05s',
    '--output-report',
    '-',
  ]);
  assert.equal(crossed.code, 1);
  assert.match(crossed.stdout, /CROSSED {2}pass_rate<99\.5%/);
  assert.match(crossed.stdout, /CROSSED {2}p99>0\.05s +--fail-if +\(actual 99\)/);
  assert.match(crossed.stderr, /rule p99>0\.05s \(--fail-if\): crossed/);
  assert.match(crossed.stderr, /decided by pass_rate<99\.5% \(--fail-if\), p99>0\.05s \(--fail-if\)/);
  const bad = await runTool('capi-merge', [...base, '--fail-if', 'p97>1ms']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--fail-if "p97>1ms": unknown metric "p97"/);
  const badUnit = await runTool('capi-merge', [...base, '--fail-if', 'errors>5ms']);
  assert.equal(badUnit.code, 2, badUnit.stderr);
  // k6 writes rates as fractions: a bare 0.99 would have been 0.99 % and let a failing run pass.
  const fraction = await runTool('capi-merge', [...base, '--fail-if', 'pass_rate<0.99']);
  assert.equal(fraction.code, 2, fraction.stderr);
  assert.match(
    fraction.stderr,
    /--fail-if "pass_rate<0\.99": write pass_rate in percent with %, e\.g\. 'pass_rate<99%'/,
  );
  const minutes = await runTool('capi-merge', [
    ...base,
    '--fail-if',
    'p95>1m',
    '--fail-if',
    'flaky>0',
    '--output-report',
    '-',
  ]);
  assert.equal(minutes.code, 1, 'latency and flakiness gates add to the default rule: the failed test fails the run');
  assert.match(minutes.stdout, /held {5}p95>1m +--fail-if +\(actual 95\)/);
  assert.match(minutes.stdout, /held {5}flaky>0 +--fail-if +\(actual 0\)/);
  assert.match(minutes.stdout, /CROSSED {2}failed>0 +default rule +\(actual 1\)/);
  assert.match(minutes.stderr, /decided by failed>0 \(default rule\)\n/);
});

test('a latency gate adds to the default rule: 10 failed and 3 errored tests fail whatever p95 says', async () => {
  const results = Array.from({ length: 50 }, (_, i) =>
    result(`L${i}`, i < 10 ? 'failed' : i < 13 ? 'error' : 'passed', i * 0.01, { durationMs: 100, batch: null }),
  );
  const file = dir('latency-gate.ndjson');
  await writeFile(file, lines(results));
  const json = dir('latency-gate.json');
  const r = await runTool('capi-merge', [
    file,
    '--fail-if',
    'p95>800ms',
    '--output-json',
    json,
    '--output-report',
    '-',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^verdict: FAILED$/m);
  assert.match(
    r.stdout,
    /^rules \(the default rule and --fail-if\): decided by failed>0 \(default rule\), errors>0 \(default rule\)$/m,
  );
  assert.match(r.stderr, /: FAILED\n/);
  assert.match(r.stderr, /rule p95>800ms \(--fail-if\): held \(actual 100\)/);
  assert.match(r.stderr, /decided by failed>0 \(default rule\), errors>0 \(default rule\)/);
  const report = JSON.parse(await readFile(json, 'utf8'));
  assert.deepEqual(
    report.thresholds.map((t: { expr: string; from: string; crossed: boolean }) => [t.expr, t.from, t.crossed]),
    [
      ['failed>0', 'default', true],
      ['errors>0', 'default', true],
      ['missing>0', 'default', false],
      ['teardown>0', 'default', false],
      ['p95>800ms', 'fail-if', false],
    ],
  );
  // a tolerance on failures alone: the 3 errors still fail the run
  const tolerant = await runTool('capi-merge', [file, '--fail-if', 'failed>10', '--output-json', dir('t2.json')]);
  assert.equal(tolerant.code, 1);
  assert.match(tolerant.stderr, /decided by errors>0 \(default rule\)\n/);
  const both = await runTool('capi-merge', [
    file,
    '--fail-if',
    'failed>10',
    '--fail-if',
    'errors>=4',
    '--output-json',
    dir('t3.json'),
  ]);
  assert.equal(both.code, 0, both.stderr);
  assert.match(
    both.stderr,
    /every rule held \(missing>0 \(default rule\), teardown>0 \(default rule\), failed>10 \(--fail-if\), errors>=4 \(--fail-if\)\)/,
  );
  // a threshold without its unit is refused before anything is read or written
  for (const [expr, hint] of [
    ['p95>800', "write the unit, e.g. 'p95>800ms' or 'p95>800s'"],
    ['p(99)<2', "write the unit, e.g. 'p99<2ms' or 'p99<2s'"],
    ['throughput<5', "write the unit, e.g. 'throughput<5/s'"],
  ] as const) {
    const bad = await runTool('capi-merge', [file, '--fail-if', expr, '--output-json', dir('never.json')]);
    assert.equal(bad.code, 2, expr);
    assert.ok(bad.stderr.includes(hint), bad.stderr);
    assert.ok(!(await listDir(tmp.path)).includes('never.json'));
  }
});

test('--ndjson streams the merged records: valid result records, each id once', async () => {
  const file = dir('nd.ndjson');
  await writeFile(file, lines([result('N1', 'failed', 0), result('N2', 'passed', 1), result('N1', 'passed', 2)]));
  const r = await runTool('capi-merge', [
    file,
    '--ndjson',
    '--output-json',
    dir('nd.json'),
    '--output-csv',
    dir('nd.csv'),
    '--output-report',
    dir('nd.txt'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const recs = parseLines(r.stdout) as Array<{ id: string; flaky: boolean }>;
  assert.deepEqual(
    recs.map((x) => [x.id, x.flaky]),
    [
      ['N1', true],
      ['N2', false],
    ],
  );
  for (const x of recs) assert.equal(validateResultRecord(x), null);
  const two = await runTool('capi-merge', [file, '--ndjson', '--output-json', '-']);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /only one output can go to stdout/);
});

test('merged records are full result records: every field of the winning record (response.bytes too) but fp', async () => {
  const first = { ...result('W1', 'failed', 0), fp: '0123abcd.4567ef89' };
  const winner = {
    ...result('W1', 'passed', 5, { tags: ['smoke'], shard: '1/2' }),
    response: { status: 201, bytes: 1234 },
    fp: '0123abcd.4567ef89',
  };
  const file = dir('full.ndjson');
  await writeFile(file, lines([first, winner]));
  const r = await runTool('capi-merge', [file, '--ndjson', '--output-json', dir('full.json')]);
  assert.equal(r.code, 0, r.stderr);
  const { fp: _fp, ...kept } = winner;
  const expected = { ...kept, attempts: 2, flaky: true, records: 2 };
  assert.deepEqual(parseLines(r.stdout), [expected]);
  const json = JSON.parse(await readFile(dir('full.json'), 'utf8'));
  assert.deepEqual(json.tests, [expected]);
});

test('an output path that is a folder is bad usage: exit 2 naming it, nothing written', async () => {
  const cwd = dir('outfolder');
  await mkdir(join(cwd, 'adir'), { recursive: true });
  await writeFile(join(cwd, 'r.ndjson'), lines([result('O1', 'passed', 0)]));
  const r = await runTool('capi-merge', ['r.ndjson', '--output-csv', 'o.csv', '--junit', 'adir'], { cwd });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^capi-merge: cannot write .*adir: it is a folder\n/);
  assert.deepEqual(await listDir(cwd), ['adir', 'r.ndjson']);
  assert.deepEqual(await listDir(join(cwd, 'adir')), []);
});

test('stdin: piped result records merge like a file', async () => {
  const cwd = dir('stdin');
  await mkdir(cwd);
  const r = await runTool('capi-merge', ['--output-report', '-'], {
    cwd,
    input: lines([result('I1', 'passed', 0), result('I2', 'error', 1)]),
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /errors:\s+1/);
  assert.match(r.stdout, /error ECONNRESET/);
  // an output was asked for: loose input leaves no default reports behind in the folder
  assert.deepEqual(await listDir(cwd), []);
});

test('nothing to merge is not a pass: empty stdin gives exit 1 and says so', async () => {
  const cwd = dir('empty');
  await mkdir(cwd);
  const r = await runTool('capi-merge', ['--junit', 'j.xml'], { cwd, input: '' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nothing ran, the verdict is failed/);
  assert.deepEqual(await listDir(cwd), ['j.xml']);
});

test('CSV cells a spreadsheet would run as formulas are neutralised', async () => {
  const file = dir('formula.ndjson');
  const names = ['=HYPERLINK("http://x","y")', '+1+2', '-3', '@SUM(A1)', '\t=tab', 'plain'];
  await writeFile(file, lines(names.map((name, i) => result(`-id${i}`, 'passed', i, { name, tags: ['=tag'] }))));
  const r = await runTool('capi-merge', [
    file,
    '--output-csv',
    '-',
    '--output-json',
    dir('f.json'),
    '--output-report',
    dir('f.txt'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = csvRows(r.stdout);
  assert.deepEqual(
    rows.map((x) => x.name),
    names.map((n) => (n === 'plain' ? n : `'${n}`)),
  );
  assert.equal(rows[0]?.id, "'-id0");
  assert.equal(rows[0]?.tags, "'=tag");
});

test('usage errors: unknown flag, missing input file, --clean without a run folder', async () => {
  const unknown = await runTool('capi-merge', ['--outptu-json', 'x']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(
    unknown.stderr,
    /unknown option '--outptu-json' \(did you mean --output-json\?\)\nTry 'capi-merge --help'/,
  );
  const none = await runTool('capi-merge', [dir('nope.ndjson')]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /nope\.ndjson: no such file or folder/);
  const noMatch = await runTool('capi-merge', [join(tmp.path, 'zzz', '*.ndjson')]);
  assert.equal(noMatch.code, 2, noMatch.stderr);
  assert.match(noMatch.stderr, /no file matches this pattern/);
  const clean = await runTool('capi-merge', [dir('nd.ndjson'), '--clean']);
  assert.equal(clean.code, 2, clean.stderr);
  assert.match(clean.stderr, /--clean needs exactly one run folder/);
  const help = await runTool('capi-merge', ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--fail-if/);
});

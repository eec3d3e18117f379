import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { killAll, runTool, tempDir } from '@capi/testkit';
import { parse, type TestCase } from 'junit2json';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';
import { fixtures } from './test-support/report-files.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let xml = '';
let xmlPath = '';
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;

// Response data with everything XML 1.0 forbids or chokes on.
const hostile = 'got \u001b[31mred\u001b[0m \u0000nul \u0001\u0008\u000b\u001f ]]> <tag> & "q" \uffff end';

before(async () => {
  tmp = await tempDir('capi-merge-junit-');
  const run = await writeRun(join(tmp.path, 'run'), {
    batches: {
      batch_0001: ['J1', 'J2', 'J3'].map((id) => testRecord(id)),
      batch_0002: [
        testRecord('J4'),
        testRecord('J5', 'same name'),
        testRecord('J6', 'same name'),
        testRecord('J7', 'not run'),
      ],
    },
    results: {
      'batch_0001.ndjson': lines([
        result('J1', 'passed', 0, { durationMs: 1234.6 }),
        result('J2', 'failed', 1, {
          name: `<b>bold</b> \u001b[1mname\u001b[0m`,
          failures: [
            { check: 'body', expected: 'item-1', actual: hostile },
            { check: 'status', expected: '2xx', actual: '503' },
          ],
        }),
        result('J3', 'error', 2, { error: { code: 'ETIMEDOUT', message: `timed out ${hostile}` } }),
      ]),
      'batch_0002.ndjson': lines([
        result('J4', 'skipped', 3, { batch: 'batch_0002', durationMs: 0 }),
        result('J5', 'passed', 4, { batch: 'batch_0002', name: 'same name' }),
        result('J6', 'passed', 5, { batch: 'batch_0002', name: 'same name' }),
      ]),
    },
  });
  xmlPath = join(tmp.path, 'junit.xml');
  const r = await runTool('capi-merge', [run, '--junit', xmlPath]);
  assert.equal(r.code, 1, r.stderr);
  xml = await readFile(xmlPath, 'utf8');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

test('the JUnit XML validates against the published Jenkins JUnit schema (junit-4.xsd)', {
  skip: hasXmllint ? false : 'xmllint not installed (Debian libxml2-utils)',
}, () => {
  const r = spawnSync('xmllint', ['--noout', '--schema', join(fixtures, 'schemas', 'jenkins-junit-4.xsd'), xmlPath], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /validates/);
});

test('no character XML 1.0 forbids, no ANSI escape, no raw ]]> or markup from data', () => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control bytes is the point
  assert.doesNotMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\uffff]/);
  assert.doesNotMatch(xml, /\[31m|\[0m/);
  assert.doesNotMatch(xml, /]]>/);
  assert.doesNotMatch(xml, /<tag>|<b>/);
  assert.match(xml, /body: expected item-1, got got red nul {2}\]\]&gt; &lt;tag&gt; &amp; "q" {2}end/);
});

test('a real JUnit consumer reads it: per-suite counts equal the children, names unique, failed checks in the message', async () => {
  const doc = (await parse(xml)) as {
    testsuite: Array<{
      name: string;
      tests: number;
      failures: number;
      errors: number;
      skipped: number;
      testcase: TestCase[];
    }>;
    tests: number;
    failures: number;
    errors: number;
  };
  assert.equal(doc.tests, 7);
  assert.equal(doc.failures, 1);
  assert.equal(doc.errors, 2);
  assert.deepEqual(
    doc.testsuite.map((s) => s.name),
    ['batch_0001', 'batch_0002'],
  );
  for (const s of doc.testsuite) {
    const cases = s.testcase;
    assert.equal(s.tests, cases.length, s.name);
    assert.equal(s.failures, cases.filter((c) => c.failure).length, s.name);
    assert.equal(s.errors, cases.filter((c) => c.error).length, s.name);
    assert.equal(s.skipped, cases.filter((c) => c.skipped).length, s.name);
  }
  const all = doc.testsuite.flatMap((s) => s.testcase);
  const names = all.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(names, [
    'J1 name of J1',
    'J2 <b>bold</b> name',
    'J3 name of J3',
    'J4 name of J4',
    'J5 same name',
    'J6 same name',
    'J7 not run',
  ]);
  const [j1, j2, j3, j4, , , j7] = all as TestCase[];
  assert.equal(j1?.time, 1.235);
  assert.equal(j1?.classname, 'batch_0001');
  const failure = j2?.failure?.[0];
  assert.match(String(failure?.message), /^body: expected item-1, got got red/);
  assert.match(String(failure?.message), /; status: expected 2xx, got 503$/);
  assert.equal(failure?.type, 'body');
  assert.match(String(failure?.inner), /\nstatus: expected 2xx, got 503$/);
  assert.equal(j3?.error?.[0]?.type, 'ETIMEDOUT');
  assert.ok(j4?.skipped);
  assert.equal(j7?.error?.[0]?.type, 'missing');
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { binPath, collect, parseLines, repoRoot, tempDir, testEnv } from '@capi/testkit';

let api: DemoApi;
let tmp: { path: string; cleanup: () => Promise<void> };
const token = `pipe-${process.pid}-secret`;

before(async () => {
  api = await startDemoApi({ token });
  tmp = await tempDir('capi-e2e-pipe-');
});
after(async () => {
  await api.close();
  await tmp.cleanup();
});

const suite = join(repoRoot, 'examples/suite.csv');
const bin = (tool: string) => `'${process.execPath}' '${binPath(tool)}'`;

/** Runs a real bash pipeline, the way the README shows it, with pipefail. */
function bash(script: string) {
  const child = spawn('bash', ['-o', 'pipefail', '-c', script], {
    cwd: tmp.path,
    env: testEnv({ DEMO_TOKEN: token }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, { timeoutMs: 180_000 });
}

test('capi-split | capi-exec | capi-merge: the README pipeline gives the designed counts', async () => {
  const r = await bash(
    `${bin('capi-split')} '${suite}' | ${bin('capi-exec')} --base-url ${api.url} --allow-env DEMO_TOKEN --concurrency 32 --quiet` +
      ` | ${bin('capi-merge')} --junit junit.xml --output-json merged.json`,
  );
  // exit 1: the example suite has designed failures
  assert.equal(r.code, 1, r.stderr);
  const expected = JSON.parse(await readFile(join(repoRoot, 'examples/expected.json'), 'utf8'));
  const merged = JSON.parse(await readFile(join(tmp.path, 'merged.json'), 'utf8'));
  const c = merged.summary.counts;
  assert.deepEqual(
    { total: c.total, passed: c.passed, failed: c.failed, errors: c.errors, skipped: c.skipped },
    expected,
  );
  const junit = await readFile(join(tmp.path, 'junit.xml'), 'utf8');
  assert.match(junit, new RegExp(`<testsuites[^>]* tests="${expected.total}"`));
  assert.ok(!junit.includes(token) && !JSON.stringify(merged).includes(token), 'the token reached a report');
});

test('shards agree across tools: capi-split --shard and capi-exec --shard pick the same ids, and all shards cover the suite once', async () => {
  const all = parseLines((await bash(`${bin('capi-split')} '${suite}'`)).stdout) as Array<{ id: string }>;
  const seen = new Map<string, number>();
  for (const k of [1, 2, 3]) {
    const split = await bash(`${bin('capi-split')} '${suite}' --shard ${k}/3`);
    assert.equal(split.code, 0, split.stderr);
    const fromSplit = (parseLines(split.stdout) as Array<{ id: string }>).map((t) => t.id).sort();
    const exec = await bash(
      `${bin('capi-split')} '${suite}' | ${bin('capi-exec')} --shard ${k}/3 --base-url ${api.url} --allow-env DEMO_TOKEN --concurrency 32 --quiet; test $? -le 1`,
    );
    assert.equal(exec.code, 0, exec.stderr);
    const fromExec = (parseLines(exec.stdout) as Array<{ id: string }>).map((t) => t.id).sort();
    assert.deepEqual(fromExec, fromSplit, `shard ${k}/3 differs between capi-split and capi-exec`);
    for (const id of fromSplit) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  assert.equal(seen.size, all.length);
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    'an id landed in two shards',
  );
});

test('capi-merge --suite reads a suite CSV as capi-split does: the CSV and its split records give the same report', async () => {
  // quoted cells with commas and line breaks, tags repeated and spaced, enabled words in any
  // case, a setup row, flows, a name with spaces around it, CRLF line ends, a BOM
  await writeFile(
    join(tmp.path, 'same.csv'),
    '\uFEFFID,Name,URL,Tags,Enabled,Flow,Phase\r\n' +
      'S0,"setup, first",/login,boot,,,Setup\r\n' +
      'A1," spaced ",/a," smoke;smoke ; slow",YES,f1,\r\n' +
      'A2,"two\r\nlines",/b,,no,f1,test\r\n' +
      '\r\n' +
      'B1,,/c,;;,Off,,\r\n' +
      'B2,b2,/d,x;y;x,1, f2 ,\r\n',
  );
  const split = await bash(`${bin('capi-split')} same.csv > same.ndjson`);
  assert.equal(split.code, 0, split.stderr);
  const fromCsv = await bash(`${bin('capi-merge')} /dev/null --suite same.csv --output-json -`);
  const fromRecords = await bash(`${bin('capi-merge')} /dev/null --suite same.ndjson --output-json -`);
  assert.equal(fromCsv.code, 1, fromCsv.stderr);
  assert.equal(fromRecords.code, 1, fromRecords.stderr);
  const tests = (r: { stdout: string }) => JSON.parse(r.stdout).tests;
  assert.deepEqual(tests(fromCsv), tests(fromRecords));
  assert.deepEqual(
    tests(fromCsv).map((t: { id: string; status: string }) => `${t.id}:${t.status}`),
    // the setup row is no test of the report (it has its own block): its phase was read
    ['A1:missing', 'A2:skipped', 'B1:skipped', 'B2:missing'],
  );
  const a1 = tests(fromCsv)[0];
  assert.deepEqual([a1.name, a1.tags], [' spaced ', ['smoke', 'slow']]);
});

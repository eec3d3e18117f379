import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { binPath, collect, repoRoot, tempDir, testEnv } from '@capi/testkit';

// A disk that is full or a file that may not grow is "could not run" (exit 3, one line),
// never a stack trace with exit 1, which CI would read as "tests failed"; and no
// half-written output or temp file is left behind.

let api: DemoApi;
let tmp: { path: string; cleanup: () => Promise<void> };
const suite = join(repoRoot, 'examples/suite.csv');
const fullDevice = existsSync('/dev/full');

before(async () => {
  api = await startDemoApi();
  tmp = await tempDir('capi-e2e-disk-');
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++)
    lines.push(JSON.stringify({ id: `D${i}`, name: `disk ${i}`, status: 'passed', durationMs: 5, attempts: 1 }));
  await writeFile(join(tmp.path, 'r.ndjson'), `${lines.join('\n')}\n`);
});
after(async () => {
  await api.close();
  await tmp.cleanup();
});

const bin = (tool: string) => `'${process.execPath}' '${binPath(tool)}'`;

function bash(script: string, env: Record<string, string> = {}) {
  const child = spawn('bash', ['-c', script], { cwd: tmp.path, env: testEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, { timeoutMs: 60_000 });
}

function assertOneLine(stderr: string, tool: string, what: RegExp) {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.match(stderr, new RegExp(`^${tool}: cannot write ${what.source}\\n$`));
}

test('stdout on a full disk: capi-split, capi-exec and capi-merge exit 3 with one line', {
  skip: fullDevice ? false : 'no /dev/full',
}, async () => {
  const split = await bash(`${bin('capi-split')} '${suite}' > /dev/full`);
  assert.equal(split.code, 3, split.stderr);
  assertOneLine(split.stderr, 'capi-split', /stdout: no space left on the device/);

  // The suite's /secure rows read {{env.DEMO_TOKEN}}: unset, their refusal could reach stderr
  // before the first result fails to reach stdout, and the one line would be two.
  const exec = await bash(
    `${bin('capi-split')} '${suite}' | head -50 | ${bin('capi-exec')} --base-url ${api.url} --allow-env DEMO_TOKEN --quiet > /dev/full`,
    { DEMO_TOKEN: 'disk-test-token' },
  );
  assert.equal(exec.code, 3, exec.stderr);
  assertOneLine(exec.stderr, 'capi-exec', /stdout: no space left on the device/);

  const merge = await bash(`${bin('capi-merge')} r.ndjson --ndjson --output-json kept.json > /dev/full`);
  assert.equal(merge.code, 3, merge.stderr);
  assertOneLine(merge.stderr, 'capi-merge', /stdout: no space left on the device/);
  assert.deepEqual((await readdir(tmp.path)).sort(), ['r.ndjson'], 'no output and no temp file left');

  const device = await bash(`${bin('capi-merge')} r.ndjson --output-report /dev/full`);
  assert.equal(device.code, 3, device.stderr);
  assertOneLine(device.stderr, 'capi-merge', /\/dev\/full: no space left on the device/);
});

test('an output that cannot grow: capi-merge exits 3 naming it, old files intact, no temp file left', async () => {
  await writeFile(join(tmp.path, 'old.csv'), 'old\n');
  // ulimit -f counts KiB: the CSV (~100 KB) and the JSON report exceed 16, the text report does not.
  const r = await bash(
    `ulimit -f 16; trap '' XFSZ; ${bin('capi-merge')} r.ndjson --output-report rep.txt --output-csv old.csv --output-json big.json`,
  );
  assert.equal(r.code, 3, r.stderr);
  assertOneLine(r.stderr, 'capi-merge', /\S+(old\.csv|big\.json): file too large/);
  assert.equal(await readFile(join(tmp.path, 'old.csv'), 'utf8'), 'old\n');
  assert.deepEqual((await readdir(tmp.path)).sort(), ['old.csv', 'r.ndjson'], 'no report is put in place alone');
});

test('batch files that cannot grow: capi-split --out exits 3 naming the batch file, no folder left', async () => {
  // a batch of 500 rows is some 100 KB, over ulimit -f 16 (KiB): the first batch file's write fails
  const r = await bash(`ulimit -f 16; trap '' XFSZ; ${bin('capi-split')} '${suite}' --out batches --batch-size 500`);
  assert.equal(r.code, 3, r.stderr);
  assertOneLine(r.stderr, 'capi-split', /\S+batch_0001\.ndjson: file too large/);
  assert.equal(existsSync(join(tmp.path, 'batches')), false, 'no batches folder');
  assert.deepEqual(
    (await readdir(tmp.path)).filter((n) => n.includes('batches')),
    [],
    'no temporary folder left',
  );
});

for (const [sig, exitCode] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
  ['SIGHUP', 129],
] as const)
  test(`capi-merge stopped by ${sig} while writing: exit ${exitCode} and no temp file left`, async () => {
    const dir = join(tmp.path, `sig-${sig}`);
    await mkdir(dir);
    // 20,000 tests: a JUnit file of megabytes, far more than a pipe and its reader buffer.
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++)
      lines.push(JSON.stringify({ id: `S${i}`, name: `signal ${i}`, status: 'passed', durationMs: 5, attempts: 1 }));
    await writeFile(join(tmp.path, 'r20k.ndjson'), `${lines.join('\n')}\n`);
    // JUnit to a stdout nobody reads blocks once the pipe is full, with the JSON report's
    // temp file already written and waiting for its rename.
    const child = spawn(
      process.execPath,
      [binPath('capi-merge'), '../r20k.ndjson', '--output-json', 'o.json', '--junit', '-'],
      {
        cwd: dir,
        env: testEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    for (let i = 0; i < 200 && !(await readdir(dir)).some((n) => n.includes('.tmp-')); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      (await readdir(dir)).some((n) => n.startsWith('o.json.tmp-')),
      'the temp file was there',
    );
    child.kill(sig);
    assert.equal(await exited, exitCode);
    assert.deepEqual(await readdir(dir), []);
  });

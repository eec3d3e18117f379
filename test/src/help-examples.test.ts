import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { collect, repoRoot, runTool, tempDir, testEnv } from '@capi/testkit';

// capi-exec's and capi-split's --help examples run as printed against the demo API (docs/demo-api.md), with
// its address for http://localhost:8080 and a value for each `…`: an example that cannot
// run (a relative suite with no base URL, exit 2) teaches a command that fails.

let api: DemoApi;
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  api = await startDemoApi();
  tmp = await tempDir('capi-e2e-help-');
});
after(async () => {
  await api.close();
  await tmp.cleanup();
});

/** The Examples of a tool's --help, one command a line (long ones are cut with ` \`). */
async function examplesOf(tool: string): Promise<string[]> {
  const help = await runTool(tool, ['--help']);
  assert.equal(help.code, 0, help.stderr);
  const block = help.stdout.slice(help.stdout.indexOf('\nExamples:\n') + '\nExamples:\n'.length);
  return block
    .replace(/ \\\n +/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** What the examples name, as a user running them against the demo API would have it. */
async function workspace(name: string): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, 'results'), { recursive: true });
  await mkdir(join(dir, 'status'), { recursive: true });
  const rows = ['id,url,expect_status'];
  for (let i = 1; i <= 8; i++) rows.push(`T${i},/items/${i},200`);
  await writeFile(join(dir, 'suite.csv'), `${rows.join('\n')}\n`);
  const split = await runTool('capi-split', [join(dir, 'suite.csv')]);
  assert.equal(split.code, 0, split.stderr);
  await writeFile(join(dir, 'tests.ndjson'), split.stdout);
  await writeFile(join(dir, 'batch_0001.ndjson'), split.stdout);
  await writeFile(join(dir, 'vars.env'), 'region=eu\n');
  return dir;
}

/** Runs each example line with bash (pipefail) in `dir`, the demo API's address for localhost:8080. */
async function runExamples(tool: string, dir: string, atLeast: number): Promise<void> {
  const examples = await examplesOf(tool);
  assert.ok(examples.length >= atLeast, examples.join('\n'));
  const path = `${join(repoRoot, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}`;
  for (const example of examples) {
    const line = example.replaceAll('http://localhost:8080', api.url).replaceAll('…', 'example-value-1234');
    const child = spawn('bash', ['-o', 'pipefail', '-c', line], {
      cwd: dir,
      env: testEnv({ PATH: path }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = await collect(child, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${example}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /relative URL/, example);
  }
}

test("every example of capi-exec's --help runs as printed against the demo API", async () => {
  await runExamples('capi-exec', await workspace('exec'), 5);
});

test("every example of capi-split's --help runs as printed (its pipeline against the demo API)", async () => {
  const dir = await workspace('split');
  await runExamples('capi-split', dir, 5);
  // what they wrote is there: the batches of --out, the records of the lenient split
  assert.ok(existsSync(join(dir, 'runs/r1/batches/index.json')));
  assert.equal(readFileSync(join(dir, 'tests.ndjson'), 'utf8').trim().split('\n').length, 8);
});

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, runNode, tempDir } from '@capi/testkit';

// examples/generate-suite.mjs: the suite generator the QA and bench runs use.

const script = join(repoRoot, 'examples/generate-suite.mjs');
const checkedIn = ['suite.csv', 'expected.json'].map((f) => join(repoRoot, 'examples', f));
const stamps = () => checkedIn.map((f) => `${statSync(f).mtimeMs} ${statSync(f).size}`);

test('generate-suite: --help; an unknown option or no output named is one line and the usage, exit 2, no stack', async () => {
  const help = await runNode(script, ['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: node examples\/generate-suite\.mjs --out FILE\|- \[--rows N\]/);
  assert.match(help.stdout, /--write-examples/);
  const before = stamps();
  for (const [args, said] of [
    [['--bogus'], "generate-suite: unknown option '--bogus'"],
    [[], 'generate-suite: name where to write: --out FILE (- for stdout), or --write-examples'],
    [['--rows', '5'], 'generate-suite: --rows takes a whole number >= 20 (got "5")'],
  ] as const) {
    const r = await runNode(script, [...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.startsWith(said), r.stderr);
    assert.match(r.stderr, /\nusage: node examples\/generate-suite\.mjs/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
  assert.deepEqual(stamps(), before, 'the checked-in suite.csv and expected.json are left alone');
});

test('generate-suite --out FILE writes there only; --out - writes the same bytes to stdout', async () => {
  const t = await tempDir('capi-gen-');
  try {
    const before = stamps();
    const file = join(t.path, 's.csv');
    const r = await runNode(script, ['--rows', '30', '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /30 rows \{"total":30,/);
    const text = readFileSync(file, 'utf8');
    assert.equal(text.trimEnd().split('\n').length, 31);
    const piped = await runNode(script, ['--rows', '30', '--out', '-']);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, text);
    assert.deepEqual(stamps(), before);
  } finally {
    await t.cleanup();
  }
});

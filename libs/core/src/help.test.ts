import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArgsDef } from 'citty';
import { toolDoc } from './flag-docs.js';
import { renderHelp, wrapCommand, wrapWords } from './help.js';

const description = `Do a thing to many files, carefully, and say what was done to each of them on the way, in a sentence long enough to wrap.

Examples:
  tool --in a.ndjson --header 'Authorization: Bearer {{env.TOKEN}}' --concurrency 32 --base-url http://localhost:8080/api/v1
  tool --wait --rate 50/s --base-url http://localhost:8080 --parallel 4 --batch-size 100   # cron: exit code is the verdict
  tool --status`;

const args = {
  target: { type: 'positional', valueHint: 'SUITE|RUN', required: false, description: 'what to work on' },
  in: { type: 'string', valueHint: 'FILE', description: 'input' },
  'max-body': {
    type: 'string',
    description: 'Read at most this many bytes of a response; the rest is drained and only counted (default 1048576)',
  },
  header: { type: 'string', alias: 'H', valueHint: "'NAME: VALUE'", description: 'a header' },
  'batch-size': { type: 'string', alias: 'batch', valueHint: 'N', description: 'tests per batch' },
  format: { type: 'enum', options: ['plain', 'json'], description: 'output format' },
  quiet: { type: 'boolean', description: 'say less' },
  supervise: { type: 'string', description: 'internal: started by the tool itself' },
  echo: { type: 'boolean', description: 'Internal: log twice' },
} satisfies ArgsDef;

const doc = toolDoc({ name: 'tool', version: '1.2.3' }, description, args);

test('help: version line, summary, usage, arguments, options, examples; nothing wider than 100 columns', () => {
  const help = renderHelp(doc);
  const lines = help.split('\n');
  assert.equal(lines[0], 'tool 1.2.3');
  assert.equal(lines[1], '');
  assert.match(help, /\nUsage: tool \[OPTIONS\] \[SUITE\|RUN\]\n/);
  assert.match(help, /\nArguments:\n {2}SUITE\|RUN {2,}what to work on\n/);
  assert.match(help, /\n {6}--in FILE {2,}input\n/);
  assert.match(help, /\n {2}-H, --header 'NAME: VALUE' {2,}a header\n/);
  assert.match(help, /\n {6}--max-body MAX_BODY {2,}Read at most/);
  assert.match(help, /--format FORMAT {2,}output format \(plain, json\)/);
  assert.match(help, /\n {6}--quiet {2,}say less\n/);
  assert.match(help, /\n {6}--batch-size, --batch N\s+tests per batch\n/);
  assert.match(help, /\n {2}-h, --help /);
  assert.match(help, /--completion SHELL/);
  assert.match(help, /\nExamples:\n/);
  for (const line of lines) {
    assert.ok(line.length <= 100, `${line.length} columns: ${line}`);
    assert.equal(line, line.trimEnd(), `trailing blanks: "${line}"`);
  }
  assert.doesNotMatch(help, /supervise|--echo|internal/i);
});

test('help at other widths keeps every line within the width', () => {
  for (const width of [60, 80, 100, 132]) {
    for (const line of renderHelp(doc, width).split('\n')) assert.ok(line.length <= width, `${width}: ${line}`);
  }
});

test('long example commands wrap at unquoted spaces with a continuation, comments on a line of their own', () => {
  const cmd = "tool --header 'Authorization: Bearer {{env.TOKEN}} and more words' --concurrency 32 --base-url http://x";
  const lines = wrapCommand(cmd, 60);
  for (const l of lines) assert.ok(l.length <= 60, l);
  assert.ok(lines.slice(0, -1).every((l) => l.endsWith(' \\')));
  assert.ok(lines.slice(1).every((l) => l.startsWith('    ')));
  assert.ok(
    lines.some((l) => l.includes("'Authorization: Bearer {{env.TOKEN}} and more words'")),
    'quotes kept whole',
  );
  // joined the way a shell joins continuation lines, it is the same command
  assert.equal(lines.map((l) => l.replace(/ \\$/, '').trim()).join(' '), cmd);
  const withComment = wrapCommand('tool --wait --rate 50/s --parallel 4   # cron: the exit code is the verdict', 50);
  assert.equal(withComment[0], '# cron: the exit code is the verdict');
  assert.ok(withComment.slice(1).every((l) => !l.includes('#')));
  assert.deepEqual(wrapCommand('tool --status', 50), ['tool --status']);
});

test('wrapWords fills lines up to the width; a longer word stands alone', () => {
  assert.deepEqual(wrapWords('a bb ccc dddd', 6), ['a bb', 'ccc', 'dddd']);
  assert.deepEqual(wrapWords('averyveryverylongword x', 5), ['averyveryverylongword', 'x']);
  assert.deepEqual(wrapWords('', 10), []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArgsDef } from 'citty';
import { renderCompletion } from './completion.js';
import { toolDoc } from './flag-docs.js';

const args = {
  target: { type: 'positional', valueHint: 'SUITE|RUN', description: 'suite' },
  in: { type: 'string', valueHint: 'FILE', description: 'input [NDJSON]: a file' },
  parallel: { type: 'string', alias: 'p', valueHint: 'N', description: "workers (it's 4)" },
  format: { type: 'enum', options: ['csv', 'ndjson'], description: 'format' },
  quiet: { type: 'boolean', description: 'less' },
  supervise: { type: 'string', description: 'internal: hidden' },
} satisfies ArgsDef;
const doc = toolDoc({ name: 'capi-x', version: '0.1.0' }, 'X.', args);

test('bash completion: every visible flag, enum values, files for path flags, nothing internal', () => {
  const script = renderCompletion('bash', doc);
  assert.match(script, /^complete -F _capi_x capi-x$/m);
  for (const flag of [
    '--in',
    '-p',
    '--parallel',
    '--format',
    '--quiet',
    '--help',
    '--version',
    '--completion',
    '--man',
  ])
    assert.ok(script.includes(` ${flag}`), flag);
  assert.match(script, /--format\) COMPREPLY=\(\$\(compgen -W 'csv ndjson'/);
  assert.match(script, /--completion\) COMPREPLY=\(\$\(compgen -W 'bash zsh'/);
  assert.match(script, /--in\) compopt -o filenames; COMPREPLY=\(\$\(compgen -f/);
  assert.match(script, /-p\|--parallel\) return ;;/);
  assert.doesNotMatch(script, /supervise/);
});

test('zsh completion: a #compdef function with _arguments specs, descriptions escaped', () => {
  const script = renderCompletion('zsh', doc);
  assert.match(script, /^#compdef capi-x\n/);
  assert.match(script, /'--in\[input \\\[NDJSON\\\]\\: a file\]:file:_files'/);
  assert.match(script, /'\(-p --parallel\)'\{-p,--parallel\}'\[workers \(it'\\''s 4\)\]:n: '/);
  assert.match(script, /'--format\[format\]:format:\(csv ndjson\)'/);
  assert.match(script, /'--quiet\[less\]'/);
  assert.match(script, /':suite\|run:_files'/);
  assert.doesNotMatch(script, /supervise/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArgsDef } from 'citty';
import { toolDoc } from './flag-docs.js';
import { renderManPage, roffText } from './man-page.js';

const args = {
  inputs: { type: 'positional', valueHint: 'INPUT', description: 'files' },
  'fail-if': { type: 'string', valueHint: 'EXPR', description: "a threshold like 'p95>800ms'" },
  header: { type: 'string', alias: 'H', description: 'a header, C:\\path and .dots' },
  echo: { type: 'boolean', description: 'internal: hidden' },
} satisfies ArgsDef;

test('man page: the man(7) sections, every visible flag, roff-escaped text', () => {
  const description = 'Merge results.\n\nExamples:\n  capi-merge run --fail-if "p95>800ms"\n  .hidden-looking example';
  const page = renderManPage(toolDoc({ name: 'capi-merge', version: '0.1.0', variadic: true }, description, args));
  assert.match(page, /^\.TH CAPI-MERGE 1 "" "capi 0\.1\.0" "capi manual"\n/);
  for (const section of [
    'NAME',
    'SYNOPSIS',
    'DESCRIPTION',
    'ARGUMENTS',
    'OPTIONS',
    'EXAMPLES',
    'EXIT STATUS',
    'SEE ALSO',
  ])
    assert.match(page, new RegExp(`^\\.SH ${section}$`, 'm'), section);
  assert.match(page, /^capi-merge \\- Merge results$/m);
  assert.match(page, /^\\fB\\-\\-fail\\-if\\fR \\fIEXPR\\fR$/m);
  assert.match(page, /^\\fB\\-H\\fR, \\fB\\-\\-header\\fR \\fIHEADER\\fR$/m);
  assert.match(page, /C:\\epath/);
  assert.match(page, /^\\&\.hidden\\-looking example$/m);
  assert.match(page, /\[INPUT\.\.\.\]/);
  assert.match(page, /^\.BR capi-exec \(1\),$/m);
  assert.doesNotMatch(page, /echo|internal/);
  // every line that is not a request is text: none may start with . or ' by accident
  for (const line of page.split('\n'))
    if (/^[.']/.test(line)) assert.match(line, /^\.(TH|SH|TP|PP|B|BR|nf|fi|RS|RE)\b/);
});

test('roffText escapes backslashes and dashes and guards a leading dot or quote', () => {
  assert.equal(roffText('a-b\\c'), 'a\\-b\\ec');
  assert.equal(roffText('.x'), '\\&.x');
  assert.equal(roffText("'x"), "\\&'x");
  assert.equal(roffText('a … b → c'), 'a \\[u2026] b \\[u2192] c');
});

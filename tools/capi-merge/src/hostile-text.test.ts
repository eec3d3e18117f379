import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { killAll, runTool, tempDir } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';

/**
 * Text a hostile server sends ends up in every report a person opens: none of them may
 * carry terminal escapes (OSC 52 writes the clipboard), C0/C1 controls or bidi overrides
 * (docs/formats.md, "Text from outside").
 */

const OSC52 = '\u001b]52;c;ZXZpbA==\u0007';
const pieces = [
  '\u001b[31mred\u001b[0m',
  'bell\u0007',
  'nul\u0000',
  OSC52,
  '\u001b]0;title\u001b\\',
  '\u009b31mcsi8',
  'c1\u0085\u008d',
  'bidi\u202eevil\u202c',
  'iso\u2066x\u2069',
  'del\u007f',
];
const hostile = `got ${pieces.join(' ')} end`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\\u001b|\\u009b|52;c;|\[31m/;

let tmp: Awaited<ReturnType<typeof tempDir>>;
const out: Record<string, string> = {};

before(async () => {
  tmp = await tempDir('capi-merge-hostile-');
  const run = await writeRun(join(tmp.path, 'run'), {
    batches: { batch_0001: ['H1', 'H2', 'H3'].map((id) => testRecord(id)) },
    results: {
      'batch_0001.ndjson': lines([
        result('H1', 'failed', 0, {
          name: `name ${hostile}`,
          failures: [{ check: 'body', expected: 'x', actual: hostile }],
        }),
        result('H2', 'error', 1, {
          name: '\u001b[31m=1+1\u0007',
          error: { code: 'ECONNRESET', message: hostile },
        }),
        result('H3', 'failed', 2, {
          failures: [{ check: 'json', expected: `=cmd ${OSC52}`, actual: `=HYPERLINK ${hostile}` }],
        }),
      ]),
    },
  });
  const files = { 'output-csv': 'r.csv', 'output-report': 'r.txt', junit: 'r.xml', html: 'r.html' };
  const args = Object.entries(files).flatMap(([flag, name]) => [`--${flag}`, join(tmp.path, name)]);
  const r = await runTool('capi-merge', [run, ...args]);
  assert.equal(r.code, 1, r.stderr);
  out.stderr = r.stderr;
  for (const [flag, name] of Object.entries(files))
    out[flag.replace('output-', '').replace('report', 'text')] = await readFile(join(tmp.path, name), 'utf8');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

for (const format of ['csv', 'text', 'junit', 'html', 'stderr']) {
  test(`the ${format} report carries no escape sequence, control or bidi character from responses`, () => {
    const text = out[format] as string;
    const bad = FORBIDDEN.exec(text);
    assert.equal(bad, null, `${format}: ${JSON.stringify(bad?.[0])} at ${bad?.index}`);
  });
}

test('what is around the hostile bytes stays readable', () => {
  assert.match(out.csv as string, /got red bell nul {3}csi8 c1 bidievil isox del end/);
  assert.match(out.text as string, /got red bell nul/);
  assert.match(out.junit as string, /got red bell nul/);
  // a cleaned cell that then starts with = is still neutralized for spreadsheets
  assert.match(out.csv as string, /^H2,'=1\+1,error,/m);
});

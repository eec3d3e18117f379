import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDepth, jsonLimitProblem, MAX_LINE_CHARS, recordLineProblem, regexLimitProblem } from './suite-limits.js';
import { normalizeTestRecord, templatedJson, ValueError } from './validate.js';

test('jsonDepth counts brackets outside strings, without recursion', () => {
  assert.equal(jsonDepth('1'), 0);
  assert.equal(jsonDepth('{"a":[1,{"b":[]}]}'), 4);
  assert.equal(jsonDepth('{"a":"[[[[\\"[["}'), 1);
  assert.equal(jsonDepth(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 200_000);
  assert.equal(jsonDepth('['.repeat(1000), 100), 101);
});

test('expect.json over the depth or size limit is a ValueError, read by both tools through templatedJson', () => {
  assert.equal(jsonLimitProblem(`${'['.repeat(100)}${']'.repeat(100)}`), null);
  assert.match(jsonLimitProblem(`${'['.repeat(101)}${']'.repeat(101)}`) ?? '', /nested more than 100 levels/);
  assert.match(jsonLimitProblem(`"${'x'.repeat(5 * 1024 * 1024)}"`) ?? '', /more than the 4194304 allowed/);
  assert.throws(() => templatedJson(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`), ValueError);
  assert.equal(regexLimitProblem('/a/'), null);
  assert.match(regexLimitProblem(`/${'a'.repeat(4095)}/`) ?? '', /more than the 4096/);
});

test('a record too long for one NDJSON line is found; ordinary ones cheaply pass', () => {
  const rec = (body: string) => normalizeTestRecord({ id: 'a', request: { method: 'GET', url: '/x', body } }, 0);
  assert.equal(recordLineProblem(rec('x'.repeat(1000))), null);
  // 11 M control characters are 66 M once escaped: over the line limit although the text is not.
  assert.match(recordLineProblem(rec('\u0001'.repeat(11 * 1024 * 1024))) ?? '', /as an NDJSON line, more than/);
  assert.equal(recordLineProblem(rec('y'.repeat(MAX_LINE_CHARS / 2))), null);
});

test('source is kept only as {file, line}', () => {
  const base = { id: 'a', request: { method: 'GET', url: '/x' } };
  assert.deepEqual(normalizeTestRecord({ ...base, source: { file: 's.csv', line: 3 } }, 0).source, {
    file: 's.csv',
    line: 3,
  });
  assert.equal(normalizeTestRecord({ ...base, source: { file: 's.csv', line: 3, x: [[[]]] } }, 0).source, null);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanText, plainLine } from './clean-text.js';
import { shellQuote } from './shell-quote.js';

test('cleanText removes 7- and 8-bit escape sequences, C0/C1 controls and bidi controls, keeps tabs and newlines', () => {
  assert.equal(cleanText('a\u001b[1;31mb\u001b[0m'), 'ab');
  assert.equal(cleanText('x\u001b]52;c;ZXZpbA==\u0007y'), 'xy');
  assert.equal(cleanText('x\u001b]8;;http://e\u001b\\link\u001b]8;;\u001b\\y'), 'xlinky');
  assert.equal(cleanText('x\u009b2Jy'), 'xy');
  assert.equal(cleanText('x\u009d0;t\u009cy'), 'xy');
  assert.equal(cleanText('a\u0000b\u0007c\u007fd\u0085e'), 'abcde');
  assert.equal(cleanText('a\u202eb\u2066c\u2069d\u202ae'), 'abcde');
  assert.equal(cleanText('a\tb\r\nc\rd'), 'a\tb\nc\nd');
  assert.equal(cleanText('trailing \u001b'), 'trailing ');
  assert.equal(cleanText('é ü 日本 😀'), 'é ü 日本 😀');
});

test('plainLine makes one line', () => {
  assert.equal(plainLine('a\n\tb\r\nc\u001b[31m!'), 'a b c!');
  assert.equal(plainLine(undefined), '');
});

test('shellQuote quotes what a shell would split or expand', () => {
  assert.equal(shellQuote('/plain/path-1.csv'), '/plain/path-1.csv');
  assert.equal(shellQuote('with space'), "'with space'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote('$(x)`y`'), "'$(x)`y`'");
  assert.equal(shellQuote(''), "''");
});

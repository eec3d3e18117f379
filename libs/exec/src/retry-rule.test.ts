import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answersTheSameAgain, neverReached, safeToRepeat, UNKNOWN_CODING } from './retry-rule.js';
import { parseVarFlags, parseVarsText } from './run-vars.js';

test('idempotent methods repeat safely; POST and PATCH only with an Idempotency-Key or --retry-unsafe', () => {
  for (const m of ['GET', 'head', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
    assert.equal(safeToRepeat(m, {}, false), true, m);
  for (const m of ['POST', 'PATCH', 'LOCK']) assert.equal(safeToRepeat(m, {}, false), false, m);
  assert.equal(safeToRepeat('POST', { 'idempotency-key': 'k1' }, false), true);
  assert.equal(safeToRepeat('POST', { 'Idempotency-Key': 'k1' }, false), true);
  assert.equal(safeToRepeat('PATCH', {}, true), true);
});

test('never reached the server: refused, DNS, TLS, a connect timeout; not a reset or a read timeout', () => {
  assert.equal(neverReached('ECONNREFUSED', null), true);
  assert.equal(neverReached('DNS', 'ENOTFOUND'), true);
  assert.equal(neverReached('TLS', 'ERR_SSL_WRONG_VERSION_NUMBER'), true);
  assert.equal(neverReached('TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'), true);
  assert.equal(neverReached('TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'), false);
  assert.equal(neverReached('ECONNRESET', 'UND_ERR_SOCKET'), false);
  assert.equal(neverReached('BAD_RESPONSE', null), false);
});

test('the same answer again: headers over the limit and an unknown coding; not a reset, a timeout or a bad parse', () => {
  assert.equal(answersTheSameAgain('UND_ERR_HEADERS_OVERFLOW'), true);
  assert.equal(answersTheSameAgain(UNKNOWN_CODING), true);
  for (const d of [null, 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'HPE_INVALID_CONSTANT', 'ECONNRESET'])
    assert.equal(answersTheSameAgain(d), false, String(d));
});

test('run variables: --var and --vars in JSON or .env lines', () => {
  assert.deepEqual(parseVarFlags(['a=1', 'b=x=y', 'a=2']), { a: '2', b: 'x=y' });
  assert.throws(() => parseVarFlags(['id=1']), /means something else/);
  assert.deepEqual(parseVarsText('{"n": 5, "s": "x", "t": true}'), { n: '5', s: 'x', t: 'true' });
  assert.throws(() => parseVarsText('{"o": {}}'), /must be a string, number or boolean/);
  assert.deepEqual(parseVarsText('\uFEFF# c\n\nexport A=1\nB = "two\\nlines"\nC=\'q x\'\r\nD=\n'), {
    A: '1',
    B: 'two\nlines',
    C: 'q x',
    D: '',
  });
  assert.throws(() => parseVarsText('A=1\nnope\n'), /line 2: expected NAME=value/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.js';
import { isNoRate, parseRate, ratePerHour } from './parse-rate.js';

test('rates: per second, minute, hour; bad ones are usage errors naming the flag', () => {
  assert.equal(parseRate('20/s'), 20);
  assert.equal(parseRate('600/m'), 10);
  assert.equal(parseRate('3600/h'), 1);
  assert.equal(parseRate('5'), 5);
  assert.equal(parseRate(' 1.5 / sec '), 1.5);
  assert.equal(ratePerHour('1/h'), 1);
  assert.equal(ratePerHour('2/m'), 120);
  assert.throws(
    () => parseRate('fast'),
    /--rate takes a rate like 20\/s, 600\/m, 3600\/h or 20 \(per second\) \(got "fast"\)$/,
  );
  assert.throws(() => parseRate('0/s'), UsageError);
  assert.throws(() => parseRate('5/d', '--set rate'), /--set rate takes/);
});

test('no limit: none, 0 and 0 with a unit; a rate is not', () => {
  for (const t of ['none', 'NONE', '0', '0.0', '0/s', ' 0 / m ']) assert.equal(isNoRate(t), true, t);
  for (const t of ['1', '0.5/s', 'fast', '']) assert.equal(isNoRate(t), false, t);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, nearest } from './edit-distance.js';

test('edit distance counts insertions, deletions and substitutions; stops at the limit', () => {
  assert.equal(editDistance('expect_status', 'expect_status'), 0);
  assert.equal(editDistance('expected_status', 'expect_status'), 2);
  assert.equal(editDistance('enabeld', 'enabled'), 2);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('region', 'method', 3), 3);
  assert.equal(editDistance('a', 'abcdef', 3), 3);
});

test('nearest: one edit for short names, two for longer ones, null when nothing is near', () => {
  const flags = ['parallel', 'batch-size', 'concurrency', 'rate', 'json'];
  assert.equal(nearest('paralel', flags), 'parallel');
  assert.equal(nearest('conccurency', flags), 'concurrency');
  assert.equal(nearest('batchsize', flags), 'batch-size');
  assert.equal(nearest('rte', flags), 'rate');
  assert.equal(nearest('jsn', flags), 'json');
  assert.equal(nearest('rat', ['rate', 'json']), 'rate');
  assert.equal(nearest('xy', flags), null);
  assert.equal(nearest('verbose', flags), null);
  assert.equal(nearest('js', flags), null);
  assert.equal(nearest('abc', ['abd', 'abe']), 'abd');
});

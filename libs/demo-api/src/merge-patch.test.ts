import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxPatchDepth, mergePatch, PatchTooDeep } from './merge-patch.js';

test('merge patch: the examples of RFC 7396 appendix A', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) {
    assert.deepEqual(mergePatch(target, patch), result, JSON.stringify({ target, patch }));
  }
});

test('merge patch: leaves the target unchanged', () => {
  const target = { a: { b: 1 } };
  mergePatch(target, { a: { b: 2 } });
  assert.deepEqual(target, { a: { b: 1 } });
});

test('merge patch: a __proto__ member stays a plain member and reaches no prototype', () => {
  const patch = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":{"x":1}}}');
  const out = mergePatch({ name: 'n' }, patch) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(out.polluted, undefined);
  assert.deepEqual(
    JSON.parse(JSON.stringify(out)),
    JSON.parse('{"name":"n","__proto__":{"polluted":true},"a":{"__proto__":{"x":1}}}'),
  );
});

test('merge patch: nesting deeper than the limit is refused, not a stack overflow', () => {
  let deep: unknown = 1;
  for (let i = 0; i < maxPatchDepth + 5; i++) deep = { a: deep };
  assert.throws(() => mergePatch({}, deep), PatchTooDeep);
  let ok: unknown = 1;
  for (let i = 0; i < maxPatchDepth; i++) ok = { a: ok };
  assert.deepEqual(mergePatch({}, ok), ok);
});

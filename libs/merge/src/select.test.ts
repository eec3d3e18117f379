import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectKth, selectRanks } from './select.js';

test('selectKth gives what sorting gives, for every rank, with negatives, zeros, ties and left-out values', () => {
  const values = new Float64Array([
    333.3333333333333, 0, -0, 5, 5, 1e-300, -2.5, 1e9, 0.1, 0.30000000000000004, 7, 12.75, 5, 1e308, -1e308, 42,
  ]);
  const include = new Uint8Array(values.length).fill(1);
  include[3] = 0;
  include[15] = 0;
  const kept = Float64Array.from(values.filter((_, i) => include[i] === 1)).sort();
  for (let k = 0; k < kept.length; k++) {
    assert.ok(Object.is(selectKth(values, include, values.length, k), kept[k]), `rank ${k}: ${kept[k]}`);
    const [radix] = selectRanks(values, include, values.length, [k], 0);
    assert.ok(Object.is(radix, kept[k]), `radix, rank ${k}: ${kept[k]}`);
  }
});

test('selectKth over many random durations matches the sorted copy at the percentiles', () => {
  const n = 20_000;
  const values = new Float64Array(n);
  const include = new Uint8Array(n);
  let seed = 7;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    values[i] = Math.floor(rnd() * 5000) / 3;
    include[i] = rnd() < 0.9 ? 1 : 0;
  }
  const kept = Float64Array.from(values.filter((_, i) => include[i] === 1)).sort();
  for (const p of [0, 50, 90, 95, 99, 100]) {
    const k = Math.min(kept.length - 1, Math.max(0, Math.ceil((p / 100) * kept.length) - 1));
    assert.equal(selectKth(values, include, n, k), kept[k]);
  }
});

test('selectRanks finds several ranks in one go, each as selectKth finds it alone, repeats and ties included', () => {
  const n = 5_000;
  const values = new Float64Array(n);
  const include = new Uint8Array(n);
  let seed = 11;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    values[i] = (rnd() < 0.1 ? -1 : 1) * Math.floor(rnd() * 300) * 0.7;
    include[i] = rnd() < 0.8 ? 1 : 0;
  }
  const kept = Float64Array.from(values.filter((_, i) => include[i] === 1)).sort();
  const ks = [kept.length - 1, 0, 17, 17, Math.floor(kept.length / 2), kept.length - 2, 400];
  // the radix select (sortBelow 0) and the sorted copy (small counts) alike
  for (const sortBelow of [0, n]) {
    const got = selectRanks(values, include, n, ks, sortBelow);
    assert.equal(got.length, ks.length);
    for (const [j, k] of ks.entries()) assert.ok(Object.is(got[j], kept[k]), `rank ${k}: ${got[j]} vs ${kept[k]}`);
  }
});

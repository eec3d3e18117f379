import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  controlNotTaken,
  type RunControl,
  rateInForce,
  sayOnChange,
  type TakenLimits,
  takeLimits,
} from './run-control.js';

test('a rate control.json gives that capi-exec takes is the one in force, whatever run.json copied', () => {
  assert.deepEqual(rateInForce({ paused: false, rate: '200/s', workers: 2 }, '50/s'), {
    rate: '200/s',
    perSecond: 200,
    notTaken: [],
    text: 'limit 200/s',
  });
  assert.equal(rateInForce({ rate: ' 600/m ', workers: 1 }, null).perSecond, 10);
  assert.equal(rateInForce({ rate: ' 600/m ', workers: 1 }, null).text, 'limit 600/m');
  // a bare number is per second (parse-rate.ts): said so
  assert.equal(rateInForce({ rate: '20', workers: 1 }, null).text, 'limit 20/s');
  assert.deepEqual(rateInForce({ rate: null, workers: 3 }, '50/s'), {
    rate: null,
    perSecond: null,
    notTaken: [],
    text: 'no limit',
  });
});

test("a rate capi-exec does not take leaves the one kept, run.json's copy, and says which value was not taken", () => {
  assert.deepEqual(rateInForce({ rate: 'fast', workers: 2 }, '200/s'), {
    rate: '200/s',
    perSecond: 200,
    notTaken: ['rate'],
    text: 'control.json rate "fast" not taken; 200/s in force',
  });
  // never read as no limit: none, 0/s, a number, an object, missing
  for (const bad of ['none', '0/s', '', 50, -3, {}, undefined]) {
    const r = rateInForce({ rate: bad as string, workers: 2 }, '200/s');
    assert.equal(r.rate, '200/s', String(bad));
    assert.deepEqual(r.notTaken, ['rate'], String(bad));
  }
  assert.equal(rateInForce({ workers: 2 }, '200/s').text, 'control.json rate (missing) not taken; 200/s in force');
  // the copy is none capi-exec takes either, or null: a launched worker has no --rate of its own
  assert.equal(
    rateInForce({ rate: 'fast', workers: 2 }, null).text,
    'control.json rate "fast" not taken; no limit in force',
  );
  assert.equal(rateInForce({ rate: 'fast', workers: 2 }, 'quick').rate, null);
  assert.equal(rateInForce({ rate: 'fast', workers: 2 }, undefined).rate, null);
});

test('a workers capi-exec does not take is named too; the rate is still in force', () => {
  assert.deepEqual(rateInForce({ rate: '100/s', workers: 0 }, '50/s'), {
    rate: '100/s',
    perSecond: 100,
    notTaken: ['workers'],
    text: 'control.json workers 0 not taken; 100/s in force',
  });
  assert.equal(
    rateInForce({ rate: 'fast', workers: '4' }, '50/s').text,
    'control.json rate "fast", workers "4" not taken; 50/s in force',
  );
});

test("control.json missing or not JSON (undefined) changes nothing: run.json's copy, nothing said", () => {
  assert.deepEqual(rateInForce(undefined, '50/s'), { rate: '50/s', perSecond: 50, notTaken: [], text: 'limit 50/s' });
  assert.equal(rateInForce(undefined, null).text, 'no limit');
  // parsed, but no object: capi-exec finds no field it takes in it
  for (const odd of [null, [], 5, 'x']) assert.deepEqual(rateInForce(odd, '50/s').notTaken, ['rate', 'workers']);
});

test('a hand-edited value is shown cleaned and cut, never as escape codes', () => {
  const r = rateInForce({ rate: `\u001b[2J\u202efast${'x'.repeat(200)}`, workers: 1 }, '5/s');
  assert.ok(!r.text.includes('\u001b') && !r.text.includes('\u202e'), r.text);
  assert.ok(r.text.length < 120, r.text);
});

test('a value nested deeper than JSON.stringify can give back is named by its kind, not thrown', () => {
  // JSON.parse takes it; JSON.stringify overflows its stack on it (RangeError before)
  const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown;
  const shown = rateInForce({ rate: deep, workers: 2 }, '50/s');
  assert.equal(shown.rate, '50/s');
  assert.equal(shown.text, 'control.json rate [… nested too deep to show] not taken; 50/s in force');
  assert.equal(
    controlNotTaken('rate', { rate: deep as string }).startsWith('"rate" [… nested too deep to show] is not taken'),
    true,
  );
  const obj = JSON.parse(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`) as unknown;
  assert.match(
    rateInForce({ rate: '10/s', workers: obj }, null).text,
    /workers \{… nested too deep to show\} not taken/,
  );
});

test('takeLimits keeps the rate and workers taken, from control.json, and leaves them for a value not taken', () => {
  const kept: TakenLimits = {};
  assert.deepEqual(takeLimits({ rate: '40/s', workers: 2 }, kept), { rate: '40/s', workers: 2 });
  assert.deepEqual(kept, { rate: '40/s', rateFrom: 'control.json', workers: 2, workersFrom: 'control.json' });
  for (const bad of [
    { rate: 'fast', workers: 0 },
    { rate: 'none', workers: 1.5 },
    { rate: 50, workers: '4' },
    {},
  ] as Partial<RunControl>[]) {
    assert.deepEqual(takeLimits(bad, kept), { rate: undefined, workers: undefined }, JSON.stringify(bad));
    assert.deepEqual(kept, { rate: '40/s', rateFrom: 'control.json', workers: 2, workersFrom: 'control.json' });
  }
  // null is taken: no limit, replacing a rate kept from elsewhere (run.json's copy)
  const fromRunJson: TakenLimits = { rate: '10/s', rateFrom: "run.json's options.rate", workers: 8, workersFrom: 'x' };
  assert.deepEqual(takeLimits({ rate: null, workers: 3 }, fromRunJson), { rate: null, workers: 3 });
  assert.deepEqual(fromRunJson, { rate: null, rateFrom: 'control.json', workers: 3, workersFrom: 'control.json' });
  // one value taken, the other kept
  const half: TakenLimits = { rate: '5/s', rateFrom: 'control.json', workers: 4, workersFrom: 'control.json' };
  takeLimits({ rate: 'fast', workers: 6 }, half);
  assert.deepEqual([half.rate, half.workers], ['5/s', 6]);
});

test('sayOnChange says a line once per change, again after a good read, and never null', () => {
  const kept: TakenLimits = {};
  const said: string[] = [];
  const say = (line: string | null) => sayOnChange(kept, line, (l) => said.push(l));
  say(null);
  say('a');
  say('a');
  say('b');
  say('b');
  say(null);
  say('b');
  assert.deepEqual(said, ['a', 'b', 'b']);
  assert.equal(kept.said, 'b');
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { rateInForce } from '@capi/core';
import { type ControlMemory, controlEffect, recordedControl, watchControl } from './control.js';
import { createLiveState } from './live-state.js';
import type { RateLimiter } from './rate-limiter.js';

const dir = mkdtempSync(join(tmpdir(), 'capi-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A control.json, a watch of it, and every rate and concurrency the watch set, in order. */
function watched(memory: ControlMemory = {}, name = 'control.json') {
  const file = join(dir, name);
  const live = createLiveState(4);
  const rates: (number | null)[] = [];
  const limiter = { setRate: (r: number | null) => rates.push(r) } as unknown as RateLimiter;
  const lines: string[] = [];
  const w = watchControl(file, live, limiter, {
    defaults: { rate: null, concurrency: 4 },
    everyMs: 60_000,
    memory,
    log: (l) => lines.push(l),
  });
  const write = async (c: Record<string, unknown>) => {
    // concurrency null unless given: these tests are about one field at a time
    writeFileSync(file, JSON.stringify({ concurrency: null, ...(c as object) }));
    await w.poll();
  };
  return { write, rates, lines, live, stop: w.stop };
}

const BAD_RATES: unknown[] = ['fast', -3, {}, 'none', '0/s', '', 50, [], '50/ss', true];

test('a rate control.json gives that capi-exec does not take keeps the last one taken, for every kind of bad value', async () => {
  for (const bad of BAD_RATES) {
    const w = watched();
    try {
      await w.write({ paused: false, rate: '40/s', concurrency: 8, workers: 2 });
      await w.write({ paused: false, rate: bad, concurrency: 8, workers: 2 });
      assert.deepEqual(w.rates, [20, 20], `rate ${JSON.stringify(bad)}: still 40/s shared by 2, not no limit`);
      assert.equal(w.lines.length, 1, JSON.stringify(bad));
      assert.match(
        w.lines[0] as string,
        /^control\.json: "rate" .* is not taken .*: running at 40\/s \(the last rate taken, from control\.json\)$/,
      );
      // the share follows `workers` even while the rate is the kept one
      await w.write({ paused: false, rate: bad, concurrency: 8, workers: 1 });
      assert.equal(w.rates.at(-1), 40);
    } finally {
      w.stop();
    }
  }
});

test('a missing rate keeps the last one too; null (--set rate=none) is taken: no limit', async () => {
  const w = watched();
  try {
    await w.write({ rate: '10/s', workers: 1 });
    await w.write({ workers: 1 });
    assert.equal(w.rates.at(-1), 10);
    assert.match(w.lines.join('\n'), /"rate" \(missing\) is not taken/);
    const c = watched({ concurrency: 12 }, 'no-concurrency.json');
    await c.write({ rate: null, concurrency: undefined, workers: 1 });
    c.stop();
    assert.equal(c.live.concurrency, 12);
    assert.match(c.lines.join('\n'), /"concurrency" \(missing\) is not taken/);
    await w.write({ rate: null, workers: 1 });
    assert.equal(w.rates.at(-1), null);
  } finally {
    w.stop();
  }
});

test('a bad concurrency keeps the last one taken, not the own --concurrency', async () => {
  for (const bad of [0, -1, 10_001, 2.5, '16', {}]) {
    const w = watched();
    try {
      await w.write({ rate: null, concurrency: 16, workers: 1 });
      assert.equal(w.live.concurrency, 16);
      await w.write({ rate: null, concurrency: bad, workers: 1 });
      assert.equal(w.live.concurrency, 16, JSON.stringify(bad));
      assert.match(w.lines.join('\n'), /"concurrency" .* is not taken .*: 16 \(the last taken\)/);
    } finally {
      w.stop();
    }
  }
});

test('the message is said once per change, not at every read, and again after a good value', async () => {
  const w = watched();
  try {
    await w.write({ rate: '5/s', workers: 1 });
    await w.write({ rate: 'fast', workers: 1 });
    await w.write({ rate: 'fast', workers: 1, paused: true });
    await w.write({ rate: 'fast', workers: 1, paused: false });
    assert.equal(w.lines.length, 1, w.lines.join('\n'));
    await w.write({ rate: 'faster', workers: 1 });
    assert.equal(w.lines.length, 2);
    await w.write({ rate: '6/s', workers: 1 });
    await w.write({ rate: 'faster', workers: 1 });
    assert.equal(w.lines.length, 3);
    assert.match(w.lines[2] as string, /running at 6\/s/);
  } finally {
    w.stop();
  }
});

test("the memory outlives one watch (--serve's batches): a batch that starts with a bad file keeps the last rate", async () => {
  const memory: ControlMemory = {};
  const first = watched(memory, 'shared.json');
  await first.write({ rate: '30/s', workers: 3 });
  first.stop();
  const second = watched(memory, 'shared.json');
  try {
    await second.write({ rate: 'fast', workers: 3 });
    assert.deepEqual(second.rates, [10]);
    assert.equal(second.lines.length, 1);
  } finally {
    second.stop();
  }
  const third = watched(memory, 'shared.json');
  try {
    await third.write({ rate: 'fast', workers: 3 });
    assert.deepEqual(third.rates, [10]);
    assert.equal(third.lines.length, 0, 'the next batch does not say it again: nothing changed');
  } finally {
    third.stop();
  }
});

/** A run.json as capi-launch writes it, `options` and the top level changed by `over`. */
const manifestText = (options: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'r1', state: 'running', suite: { file: 'suite.csv' }, parallel: 3, options, ...over });

test("a worker that starts while control.json is bad runs at run.json's rate and shares it by run.json's parallel (recordedControl), and says so", async () => {
  const manifest = join(dir, 'run.json');
  writeFileSync(manifest, manifestText({ rate: '120/m', concurrency: 8 }));
  const memory = await recordedControl(manifest);
  assert.deepEqual(memory, {
    rate: '120/m',
    rateFrom: "run.json's options.rate",
    workers: 3,
    workersFrom: "run.json's parallel",
  });
  const w = watched(memory, 'start.json');
  try {
    await w.write({ rate: 'fast', workers: 2 });
    assert.deepEqual(w.rates, [1]);
    assert.match(w.lines[0] as string, /running at 120\/m \(the last rate taken, from run\.json's options\.rate\)/);
  } finally {
    w.stop();
  }
  writeFileSync(manifest, manifestText({ rate: null }));
  assert.deepEqual(await recordedControl(manifest), {
    rate: null,
    rateFrom: "run.json's options.rate",
    workers: 3,
    workersFrom: "run.json's parallel",
  });
  writeFileSync(manifest, manifestText({ rate: 'fast' }, { parallel: undefined }));
  assert.deepEqual(await recordedControl(manifest), {});
  // a run.json core's reader refuses gives nothing: the worker's own flags
  for (const bad of ['{', '[]', 'null', '', manifestText({ rate: '5/s' }, { parallel: 0 })]) {
    writeFileSync(manifest, bad);
    assert.deepEqual(await recordedControl(manifest), {}, bad);
  }
  assert.deepEqual(await recordedControl(join(dir, 'missing.json')), {});
});

const BAD_WORKERS: unknown[] = [0, -2, 1.5, '4', null, {}, [], true, 1e300];

test('a workers control.json gives that is not a whole number of 1 or more keeps the last one taken: the rate is not multiplied', async () => {
  for (const bad of BAD_WORKERS) {
    const w = watched();
    try {
      await w.write({ rate: '40/s', workers: 4 });
      await w.write({ rate: '40/s', workers: bad });
      assert.deepEqual(w.rates, [10, 10], String(bad));
      assert.equal(w.lines.length, 1, String(bad));
      assert.match(
        w.lines[0] as string,
        /^control\.json: "workers" .* is not taken \(a whole number, 1 or more\): the rate is shared by 4 \(the last taken, from control\.json\)$/,
      );
      await w.write({ rate: '40/s', workers: 2 });
      assert.deepEqual(w.rates, [10, 10, 20], 'a good one is taken again');
    } finally {
      w.stop();
    }
  }
  // a worker that starts while it is bad: run.json's parallel
  const started = watched({ workers: 5, workersFrom: "run.json's parallel" }, 'workers-start.json');
  try {
    await started.write({ rate: '40/s', workers: 'all' });
    assert.deepEqual(started.rates, [8]);
    assert.match(started.lines[0] as string, /shared by 5 \(the last taken, from run\.json's parallel\)$/);
  } finally {
    started.stop();
  }
});

test("a bare capi-exec's control file with no workers shares nothing and says nothing; a bad one with nothing kept is 1, said", () => {
  const none = controlEffect({ rate: '30/s', concurrency: null });
  assert.equal(none.rate, 30);
  assert.equal(none.refused, null);
  const bad = controlEffect({ rate: '30/s', concurrency: null, workers: -1 });
  assert.equal(bad.rate, 30);
  assert.match(
    bad.refused as string,
    /"workers" -1 is not taken \(a whole number, 1 or more\): the rate is shared by 1$/,
  );
});

test('with nothing taken, a bad rate is the own --rate, and the message says that', () => {
  const e = controlEffect({ rate: 'fast', concurrency: null });
  assert.equal(e.rate, null);
  assert.match(e.refused as string, /running at this capi-exec's own --rate$/);
});

test("core's rateInForce (capi-watch, capi-launch --status) says the rate a worker starting from run.json runs at, for every control.json", async () => {
  const manifest = join(dir, 'in-force.json');
  const controls: unknown[] = [
    { rate: '90/s', workers: 3 },
    { rate: '90', workers: 2 },
    { rate: null, workers: 3 },
    ...BAD_RATES.map((rate) => ({ rate, workers: 3 })),
    ...BAD_WORKERS.map((workers) => ({ rate: '60/s', workers })),
    { workers: 3 },
    { rate: 'fast', workers: 0 },
    null,
    [],
  ];
  for (const recorded of ['120/m', null, 'fast']) {
    writeFileSync(manifest, manifestText({ rate: recorded }));
    for (const c of controls) {
      const memory = await recordedControl(manifest);
      const e = controlEffect({ ...((c ?? {}) as object), concurrency: null }, memory);
      const shown = rateInForce(c, recorded);
      const what = `${JSON.stringify(c)} over ${recorded}`;
      // each of the `workers` takes rate / workers: the run's rate is the share times them
      const whole = e.rate === null ? null : e.rate * (memory.workers ?? 1);
      assert.ok(whole === shown.perSecond || Math.abs((whole ?? 0) - (shown.perSecond ?? 0)) < 1e-9, what);
      assert.equal(e.refused !== null, shown.notTaken.length > 0, what);
      for (const field of shown.notTaken) assert.match(e.refused ?? '', new RegExp(`"${field}"`), what);
    }
  }
});

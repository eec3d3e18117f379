import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlConcurrency, controlRate, type RunControl } from '@capi/core';
import { type Manifest, withLiveLimits } from './manifest.js';

const manifest = { id: 'capi_test_20260101_000001', options: { rate: '50/s', concurrency: 8 } } as unknown as Manifest;
const control = (c: Partial<RunControl>) => ({ paused: false, workers: 1, ...c }) as RunControl;

test("withLiveLimits copies control.json's rate only as capi-exec takes it: one it does not take leaves the copy", () => {
  assert.equal(withLiveLimits(manifest, control({ rate: '600/m', concurrency: 8 })).options.rate, '600/m');
  assert.equal(withLiveLimits(manifest, control({ rate: ' 20/s ', concurrency: 8 })).options.rate, '20/s');
  assert.equal(withLiveLimits(manifest, control({ rate: null, concurrency: 8 })).options.rate, null);
  for (const rate of ['fast', '50/ss', 'none', '0/s', '', 50, -3, {}, undefined]) {
    const c = control({ rate: rate as string, concurrency: 8 });
    // what the workers run with: capi-exec keeps the rate it last took, and a worker that
    // starts then takes run.json's copy, so the copy must stay the last rate taken
    assert.equal(controlRate(c), undefined, String(rate));
    assert.equal(withLiveLimits(manifest, c).options.rate, '50/s', `run.json keeps the last rate taken: ${rate}`);
  }
});

test("withLiveLimits copies control.json's concurrency only within capi-exec's bounds: one it does not take leaves the copy", () => {
  assert.equal(withLiveLimits(manifest, control({ rate: '50/s', concurrency: 16 })).options.concurrency, 16);
  assert.equal(withLiveLimits(manifest, control({ rate: '50/s', concurrency: null })).options.concurrency, null);
  for (const concurrency of [0, -1, 10_001, 2.5, '16', undefined]) {
    const c = control({ rate: '50/s', concurrency: concurrency as number });
    // capi-exec runs with its own --concurrency then, which is run.json's copy for a launched worker
    assert.equal(controlConcurrency(c), undefined, String(concurrency));
    assert.equal(withLiveLimits(manifest, c).options.concurrency, 8, String(concurrency));
  }
  const same = withLiveLimits(manifest, control({ rate: '50/s', concurrency: 8 }));
  assert.equal(same, manifest, 'nothing changed: the same object, not rewritten');
});

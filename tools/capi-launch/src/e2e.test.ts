import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  demoFor,
  demoSuite,
  exactlyOnce,
  type Manifest,
  readJson,
  runDirOf,
  sandboxes,
} from './test-support/harness.js';

// The real capi-split, capi-exec and capi-merge against the demo API.

const demo = demoFor(30);
const box = sandboxes(false);

test('--wait: a nohup run of the real tools gives correct results and the verdict as exit code', async () => {
  const b = await box();
  const suite = demoSuite(b.dir, 120, ['T0007', 'T0100']);
  const r = await b.launch([suite, '--wait', '--parallel', '3', '--batch-size', '25', '--base-url', demo.url]);
  assert.equal(r.code, 1, r.stderr);
  const runDir = runDirOf(r.stdout);
  const m = readJson<Manifest>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.verdict, m.total], ['completed', 'failed', 120]);
  assert.equal(exactlyOnce(runDir, 120), null);
  const failed = readdirSync(join(runDir, 'results'))
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) =>
      readFileSync(join(runDir, 'results', f), 'utf8')
        .trim()
        .split('\n'),
    )
    .map((l) => JSON.parse(l) as { id: string; status: string })
    .filter((x) => x.status !== 'passed')
    .map((x) => `${x.id}:${x.status}`)
    .sort();
  assert.deepEqual(failed, ['T0007:failed', 'T0100:failed']);
  assert.ok(readdirSync(join(runDir, 'report')).length > 0, 'capi-merge wrote a report');
  // a worker slot's capi-exec takes batch after batch: 5 batches, at most 3 processes
  const claims = readdirSync(join(runDir, 'claims')).map((f) =>
    readJson<{ pid: number; worker: number; state: string }>(join(runDir, 'claims', f)),
  );
  assert.deepEqual(
    claims.map((c) => c.state),
    ['done', 'done', 'done', 'done', 'done'],
  );
  const pids = new Set(claims.map((c) => c.pid));
  assert.ok(pids.size <= 3, `${pids.size} capi-exec processes for 5 batches and 3 workers`);
  for (const c of claims) assert.equal(claims.find((o) => o.pid === c.pid)?.worker, c.worker, 'one process, one slot');
  for (let k = 1; k <= 5; k++)
    assert.match(readFileSync(join(runDir, 'logs', `batch_000${k}.log`), 'utf8'), /^capi-exec: \d+ ran, /m);
  const rerun = await b.launch(['--rerun-failed', runDir, '--foreground']);
  assert.equal(rerun.code, 1, 'the same two fail again');
});

test('--rate is the rate of the whole run, shared by the workers, not multiplied by them', async () => {
  const b = await box();
  const suite = demoSuite(b.dir, 60);
  const r = await b.launch([
    suite,
    '--foreground',
    '--parallel',
    '4',
    '--batch-size',
    '15',
    '--rate',
    '20/s',
    '--base-url',
    demo.url,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, 'latest');
  const starts = readdirSync(join(runDir, 'results'))
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) =>
      readFileSync(join(runDir, 'results', f), 'utf8')
        .trim()
        .split('\n'),
    )
    .map((l) => Date.parse((JSON.parse(l) as { startedAt: string }).startedAt))
    .sort((x, y) => x - y);
  const spanS = ((starts.at(-1) as number) - (starts[0] as number)) / 1000;
  // 60 starts at 20/s take about 3 s; at 20/s per worker they would take under 1 s
  assert.ok(spanS >= 2.2, `60 tests started over ${spanS.toFixed(2)} s`);
});

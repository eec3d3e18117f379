import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { updateControl } from './control-file.js';
import { type Manifest, readControl, readManifest, updateManifest, writeControl, writeManifest } from './manifest.js';

const root = await mkdtemp(join(tmpdir(), 'capi-set-half-'));
after(() => rm(root, { recursive: true, force: true }));

/** A running run's run.json and control.json as a launch writes them: `--rate 50/s --concurrency 8`. */
async function runningRun(id: string): Promise<string> {
  const runDir = join(root, id);
  await mkdir(runDir, { recursive: true });
  const options = { rate: '50/s', concurrency: 8, execArgs: [], maxRestarts: 3, onFinish: null };
  await writeManifest(runDir, {
    id,
    state: 'running',
    pid: null,
    suite: { file: '/x' },
    options,
  } as unknown as Manifest);
  await writeControl(runDir, { paused: false, rate: '50/s', concurrency: 8, workers: 2 });
  return runDir;
}

test('a --set killed between its two writes: the next write of run.json takes the limits from control.json', async () => {
  const runDir = await runningRun('capi_test_20260101_000000');
  // --set rate=5/s concurrency=2 (change-control.ts): control.json first, then run.json;
  // SIGKILL between the two leaves only the first done
  await updateControl(runDir, (c) => ({ ...c, rate: '5/s', concurrency: 2 }));
  assert.deepEqual([(await readManifest(runDir)).options.rate, (await readControl(runDir)).rate], ['50/s', '5/s']);
  // the next writer of run.json (here --stop's; the supervisor's end, a resume's take alike)
  const m = await updateManifest(runDir, { state: 'stopped' });
  assert.deepEqual([m.options.rate, m.options.concurrency], ['5/s', 2]);
  const onDisk = await readManifest(runDir);
  assert.deepEqual([onDisk.state, onDisk.options.rate, onDisk.options.concurrency], ['stopped', '5/s', 2]);
});

test('rate=none lands as no limit; a control.json that cannot be read, or a field not of its type, leaves run.json as it is', async () => {
  const runDir = await runningRun('capi_test_20260101_000001');
  await updateControl(runDir, (c) => ({ ...c, rate: null }));
  assert.equal((await updateManifest(runDir, {})).options.rate, null);
  await writeControl(runDir, { paused: false, rate: 7, concurrency: 'x', workers: 2 } as never);
  const m = await updateManifest(runDir, {});
  assert.deepEqual([m.options.rate, m.options.concurrency], [null, 8]);
  await rm(join(runDir, 'control.json'));
  assert.equal((await updateManifest(runDir, { state: 'stopped' })).options.concurrency, 8);
});

test('a hand-edited control.json concurrency over capi-exec`s 10000 is not copied: a resume would start workers that refuse it', async () => {
  const runDir = await runningRun('capi_test_20260101_000002');
  await updateControl(runDir, (c) => ({ ...c, concurrency: 50_000 }));
  assert.equal((await updateManifest(runDir, {})).options.concurrency, 8);
  await updateControl(runDir, (c) => ({ ...c, concurrency: 10_000 }));
  assert.equal((await updateManifest(runDir, {})).options.concurrency, 10_000);
});

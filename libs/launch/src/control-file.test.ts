import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CapiError, ExitCode, type RunControl } from '@capi/core';
import { changeControl } from './change-control.js';
import { updateControl } from './control-file.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function runDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'capi-control-'));
  dirs.push(d);
  const control: RunControl = { paused: false, rate: '20/s', concurrency: 1, workers: 2 };
  await writeFile(join(d, 'control.json'), JSON.stringify(control));
  await writeFile(
    join(d, 'run.json'),
    JSON.stringify({
      id: 'capi_test_x',
      state: 'running',
      suite: { file: '/x' },
      options: { rate: '20/s', concurrency: 1 },
    }),
  );
  return d;
}

const control = async (d: string) => JSON.parse(await readFile(join(d, 'control.json'), 'utf8')) as RunControl;

test('a --pause landing between the supervisor read and write of control.json is not undone', async () => {
  const d = await runDir();
  let read!: () => void;
  const hasRead = new Promise<void>((r) => (read = r));
  // the supervisor: reads, then (slowly) writes workers back
  const supervisor = updateControl(d, async (c) => {
    read();
    await sleep(150);
    return { ...c, workers: 1 };
  });
  await hasRead;
  const paused = await changeControl(d, { paused: true });
  await supervisor;
  assert.equal(paused.paused, true);
  assert.deepEqual(await control(d), { paused: true, rate: '20/s', concurrency: 1, workers: 1 });
  assert.equal(existsSync(join(d, 'control.json.lock')), false, 'the lock is gone after use');
});

test('two writers interleaving many read-modify-writes lose no update', async () => {
  const d = await runDir();
  const bump = (field: 'concurrency' | 'workers') =>
    updateControl(d, async (c) => {
      await sleep(Math.random() * 5);
      return { ...c, [field]: (c[field] ?? 0) + 1 };
    });
  const a = Array.from({ length: 25 }, () => bump('concurrency'));
  const b = Array.from({ length: 25 }, () => bump('workers'));
  await Promise.all([...a, ...b]);
  const c = await control(d);
  assert.deepEqual([c.concurrency, c.workers], [26, 27]);
});

test('a lock left by a writer that died (pid gone), or older than a few seconds, is broken', async () => {
  const d = await runDir();
  const lock = join(d, 'control.json.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await writeFile(lock, `${dead.stdout}\n`);
  let t = Date.now();
  await changeControl(d, { paused: true });
  assert.ok(Date.now() - t < 2000, 'a dead holder is not waited for');
  assert.equal((await control(d)).paused, true);
  // a live pid (this one) but a lock 10 s old: its writer hung or the pid was reused
  await writeFile(lock, `${process.pid}\n`);
  const old = new Date(Date.now() - 10_000);
  await utimes(lock, old, old);
  t = Date.now();
  await changeControl(d, { paused: false });
  assert.ok(Date.now() - t < 2000, 'an old lock is not waited for');
  assert.equal((await control(d)).paused, false);
});

test('a control.json missing or not JSON is exit 2 naming the file, and a change under its lock writes nothing', async () => {
  const d = await runDir();
  const path = join(d, 'control.json');
  for (const [text, message] of [
    [null, `${path}: no such file`],
    ['{"paused":tr', new RegExp(`^${path.replaceAll('.', '\\.')}: malformed JSON: `)],
  ] as const) {
    if (text === null) await rm(path);
    else await writeFile(path, text);
    await assert.rejects(
      updateControl(d, (c) => ({ ...c, paused: true })),
      (err: CapiError) => {
        assert.equal(err.exitCode, ExitCode.badInput);
        if (typeof message === 'string') assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
      },
    );
    assert.equal(existsSync(path) ? await readFile(path, 'utf8') : null, text, 'nothing written');
  }
  // JSON that is no object: every field missing, as capi-exec reads it; the change is written
  await writeFile(path, 'null');
  assert.deepEqual(await updateControl(d, (c) => ({ ...c, paused: true })), { paused: true });
});

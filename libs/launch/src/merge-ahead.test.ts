import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from '@capi/core';
import { mergeAhead } from './merge-ahead.js';

/**
 * A stand-in capi-merge: writes its pid and argv, then waits for `go` on stdin (writes
 * `merged`, exit 7; with STAND_IN_SLOW, a minute later); stdin ending first is exit 5.
 */
const STAND_IN = `
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const dir = process.argv[2];
writeFileSync(dir + '/argv.json', JSON.stringify(process.argv.slice(2)));
writeFileSync(dir + '/pid', String(process.pid));
for await (const line of createInterface({ input: process.stdin }))
  if (line === 'go') {
    if (process.env.STAND_IN_SLOW) await new Promise((r) => setTimeout(r, 60_000));
    writeFileSync(dir + '/merged', 'yes');
    process.exit(7);
  }
process.exit(5);
`;

async function setUp() {
  const dir = await mkdtemp(join(tmpdir(), 'capi-merge-ahead-'));
  await mkdir(join(dir, 'logs'));
  const bin = join(dir, 'merge.mjs');
  await writeFile(bin, STAND_IN);
  return { dir, env: { ...process.env, CAPI_MERGE_BIN: bin } };
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a merge never started: go says so, and the caller starts one the ordinary way', async () => {
  const { dir, env } = await setUp();
  try {
    assert.equal(await mergeAhead(dir, ['--junit', 'j.xml'], env).go(10_000), 'not started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('started ahead (once), it reads nothing until go; go returns its exit code', async () => {
  const { dir, env } = await setUp();
  try {
    const m = mergeAhead(dir, ['--junit', 'j.xml'], env);
    m.start();
    m.start();
    await until(() => existsSync(join(dir, 'pid')), 'the stand-in to start');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'argv.json'), 'utf8')), [
      dir,
      '--junit',
      'j.xml',
      '--after-go',
    ]);
    assert.ok(!existsSync(join(dir, 'merged')));
    assert.equal(await m.go(60_000), 7);
    assert.equal(await readFile(join(dir, 'merged'), 'utf8'), 'yes');
    m.cancel(); // after its end: nothing to do
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cancel (a stopped or failed run): the waiting merge is killed, having merged nothing', async () => {
  const { dir, env } = await setUp();
  try {
    const m = mergeAhead(dir, [], env);
    m.start();
    await until(() => existsSync(join(dir, 'pid')), 'the stand-in to start');
    const pid = Number(await readFile(join(dir, 'pid'), 'utf8'));
    m.cancel();
    await until(() => !pidAlive(pid), 'the merge to be gone');
    assert.ok(!existsSync(join(dir, 'merged')));
    assert.equal(await m.go(10_000), 'not started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const sig of ['SIGKILL', 'SIGTERM'] as const)
  test(`killed by ${sig}, not the run's, just before the go (its exit not seen yet): go says not started, so an ordinary merge follows`, async () => {
    const { dir, env } = await setUp();
    try {
      const m = mergeAhead(dir, [], env);
      m.start();
      await until(() => existsSync(join(dir, 'pid')), 'the stand-in to start');
      // as the OOM killer would: no turn of the event loop between the kill and the go
      process.kill(Number(await readFile(join(dir, 'pid'), 'utf8')), sig);
      assert.equal(await m.go(10_000), 'not started');
      assert.ok(!existsSync(join(dir, 'merged')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

for (const sig of ['SIGINT', 'SIGHUP'] as const)
  test(`a terminal's ${sig} while the merge runs reaches it (its own process group would not); before the go it does nothing`, async () => {
    const { dir, env } = await setUp();
    try {
      const m = mergeAhead(dir, [], { ...env, STAND_IN_SLOW: '1' });
      m.start();
      await until(() => existsSync(join(dir, 'pid')), 'the stand-in to start');
      const pid = Number(await readFile(join(dir, 'pid'), 'utf8'));
      m.interrupt(sig); // not told to go yet: a stop cancels it instead (finish.ts)
      await sleep(200);
      assert.ok(pidAlive(pid), 'a merge not told to go is left to cancel()');
      const going = m.go(120_000);
      await sleep(200);
      m.interrupt(sig);
      assert.equal(await going, null, `ended by the ${sig}, not after its minute`);
      assert.ok(!existsSync(join(dir, 'merged')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

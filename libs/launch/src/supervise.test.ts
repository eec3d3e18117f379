import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs, { writeFileSync } from 'node:fs';
import fsp, { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type BatchIndex, batchName, pidAlive, runPaths } from '@capi/core';
import { standInSupervisor } from '@capi/testkit';
import { createRun } from './create-run.js';
import { type EarlyWorkers, startEarlyWorkers } from './early-workers.js';
import type { LaunchOptions } from './manifest.js';
import { superviseRemote } from './remote-run.js';
import { runSlot, type Supervision } from './run-batch.js';
import { halt, stopWorkers } from './stop-workers.js';
import { superviseRun } from './supervise.js';
import { runWorkerSpec, type Worker, type WorkerExit } from './worker.js';

const fakeExec = fileURLToPath(new URL('./test-support/fake-exec.js', import.meta.url));

/** Batches of `size` tests each, written as capi-split would (records and index.json). */
function fillBatches(batches: number, size: number) {
  return async (dir: string) => {
    const index: BatchIndex = { total: batches * size, batchSize: size, batches: [] };
    for (let b = 1; b <= batches; b++) {
      const name = batchName(b, batches);
      const ids = Array.from({ length: size }, (_, k) => `T${(b - 1) * size + k + 1}`);
      const lines = ids.map((id, k) => JSON.stringify({ id, seq: (b - 1) * size + k, request: { url: `/x/${id}` } }));
      await writeFile(join(dir, `${name}.ndjson`), `${lines.join('\n')}\n`);
      const first = (b - 1) * size;
      const [firstId, lastId] = [ids[0] as string, ids.at(-1) as string];
      index.batches.push({
        batch: name,
        file: `${name}.ndjson`,
        firstSeq: first,
        lastSeq: first + size - 1,
        count: size,
        firstId,
        lastId,
      });
    }
    await writeFile(join(dir, 'index.json'), `${JSON.stringify(index)}\n`);
  };
}

/**
 * Counts, while `fn` runs, the reads of run.json and of the claims folder: the supervisor
 * reads each once when it takes the run, and run.json once more to write the run's end
 * (`--set` may have changed it meanwhile); everything else it passes along.
 */
async function countReads(runDir: string, fn: () => Promise<unknown>) {
  const manifest = runPaths(runDir).manifest;
  const claims = runPaths(runDir).claims;
  const seen = { manifest: 0, claims: 0 };
  const { readFile: realReadFile, readdir: realReaddir, open: realOpen } = fsp;
  const patched = fsp as unknown as Record<string, unknown>;
  patched.readFile = (path: unknown, ...rest: unknown[]) => {
    if (String(path) === manifest) seen.manifest++;
    return (realReadFile as (...a: unknown[]) => unknown)(path, ...rest);
  };
  // core's run.json reader opens the file (its size is checked on the open file, then read)
  patched.open = (path: unknown, ...rest: unknown[]) => {
    if (String(path) === manifest) seen.manifest++;
    return (realOpen as (...a: unknown[]) => unknown)(path, ...rest);
  };
  patched.readdir = (path: unknown, ...rest: unknown[]) => {
    if (String(path) === claims) seen.claims++;
    return (realReaddir as (...a: unknown[]) => unknown)(path, ...rest);
  };
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    patched.readFile = realReadFile;
    patched.readdir = realReaddir;
    patched.open = realOpen;
    syncBuiltinESMExports();
  }
  return seen;
}

/**
 * A run of `batches` batches of `size` stand-in tests in a temp folder, ready for
 * `superviseRun`: fake-exec workers (`FAKE_EXEC_FAIL`: ids that fail) and a stand-in
 * capi-merge that exits with `mergeExit`.
 */
/** Runs body in a fresh temporary folder, removed afterwards whatever happens. */
async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function standInRun(
  dir: string,
  o: {
    batches: number;
    size: number;
    parallel: number;
    mergeExit: number;
    failing?: string;
    env?: Record<string, string>;
    maxRestarts?: number;
  },
) {
  const suite = join(dir, 'suite.csv');
  writeFileSync(suite, 'id,url\n');
  const merge = join(dir, 'merge.mjs');
  writeFileSync(merge, `process.exit(${o.mergeExit});\n`);
  const env = {
    ...process.env,
    CAPI_BASE_URL: 'http://127.0.0.1:9',
    CAPI_EXEC_BIN: fakeExec,
    CAPI_MERGE_BIN: merge,
    FAKE_EXEC_DELAY_MS: '1',
    FAKE_EXEC_FAIL: o.failing ?? '',
    ...o.env,
  };
  const m = await createRun({
    suite,
    runsDir: join(dir, 'runs'),
    method: 'nohup',
    parallel: o.parallel,
    batchSize: o.size,
    launch: { rate: null, concurrency: null, execArgs: [], maxRestarts: o.maxRestarts ?? 1, onFinish: null },
    fill: fillBatches(o.batches, o.size),
    env,
  });
  return { m, env, runDir: join(dir, 'runs', m.id) };
}

/** A stand-in run of 2 slots whose capi-merge is `script` (an .mjs written into dir). */
function mergeScriptRun(dir: string, script: string, batches: number, size: number, env: Record<string, string>) {
  const merge = join(dir, 'stand-in-merge.mjs');
  writeFileSync(merge, script);
  return standInRun(dir, { batches, size, parallel: 2, mergeExit: 0, env: { CAPI_MERGE_BIN: merge, ...env } });
}

test('one supervisor pass reads the claims once and run.json twice (take, end), and the data goes along', async () => {
  await inTempDir('capi-supervise-', async (dir) => {
    const { m, env, runDir } = await standInRun(dir, { batches: 3, size: 3, parallel: 2, mergeExit: 0 });
    let code = -1;
    const seen = await countReads(runDir, async () => {
      code = await superviseRun(runDir, { env });
    });
    assert.equal(code, 0);
    const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
    assert.deepEqual([end.state, end.verdict, basename(runDir)], ['completed', 'passed', m.id]);
    assert.deepEqual(seen, { manifest: 2, claims: 1 });
  });
});

// docs/formats.md: a launched run's verdict is the journals'; capi-merge's exit code only writes reports.
for (const [failing, mergeExit, verdict, code] of [
  ['', 1, 'passed', 0],
  ['T2', 0, 'failed', 1],
] as const) {
  test(`the journals' verdict wins: journals ${verdict}, capi-merge exits ${mergeExit} → run.json ${verdict}, exit ${code}`, async () => {
    await inTempDir('capi-verdict-', async (dir) => {
      const { env, runDir } = await standInRun(dir, { batches: 2, size: 2, parallel: 1, mergeExit, failing });
      assert.equal(await superviseRun(runDir, { env }), code);
      const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
      assert.deepEqual([end.state, end.verdict], ['completed', verdict]);
      const log = await readFile(runPaths(runDir).mainLog, 'utf8');
      assert.match(
        log,
        new RegExp(`capi-merge's verdict \\(exit ${mergeExit}\\) differs from the journals' \\(${verdict}\\)`),
      );
    });
  });
}

const claimsOf = async (runDir: string, batches: number) => {
  const out: Record<string, { state: string; restarts: number; pid: number } | null> = {};
  for (let b = 1; b <= batches; b++) {
    const name = batchName(b, batches);
    const text = await readFile(join(runPaths(runDir).claims, `${name}.json`), 'utf8').catch(() => null);
    out[name] = text === null ? null : JSON.parse(text);
  }
  return out;
};

/** Three batches of three stand-in tests, one worker slot, with these fake-exec knobs. */
const oneSlotRun = (dir: string, env: Record<string, string>) =>
  standInRun(dir, { batches: 3, size: 3, parallel: 1, mergeExit: 0, env });

test("a slot's capi-exec runs batch after batch; the batch queued behind one that kills it never started and costs no restart", async () => {
  await inTempDir('capi-slot-', async (dir) => {
    const { env, runDir } = await oneSlotRun(dir, { FAKE_EXEC_CRASH_BATCH: 'batch_0001' });
    assert.equal(await superviseRun(runDir, { env }), 3);
    const c = await claimsOf(runDir, 3);
    assert.deepEqual([c.batch_0001?.state, c.batch_0001?.restarts], ['failed', 2], 'given up after --max-restarts 1');
    // batch_0002 sat behind batch_0001 in both processes it killed, then ran in a third
    assert.deepEqual([c.batch_0002?.state, c.batch_0002?.restarts], ['done', 0]);
    assert.deepEqual([c.batch_0003?.state, c.batch_0003?.restarts], ['done', 0]);
    assert.equal(c.batch_0002?.pid, c.batch_0003?.pid, 'one process ran both');
    const log = await readFile(runPaths(runDir).logFile('worker_1'), 'utf8');
    assert.equal(log.match(/capi-exec started/g)?.length, 3, log);
  });
});

test('a stop during the back-off before a restart ends the run at once, not when the back-off ends', async () => {
  await inTempDir('capi-backoff-', async (dir) => {
    const { env, runDir } = await standInRun(dir, {
      // each process dies after one more test: 10 tests, 10 processes at least
      batches: 1,
      size: 10,
      parallel: 1,
      mergeExit: 0,
      maxRestarts: 20,
      env: { FAKE_EXEC_CRASH_BATCH: 'batch_0001' },
    });
    const others = new Set(process.listeners('SIGTERM'));
    const run = superviseRun(runDir, { env });
    const log = runPaths(runDir).logFile('worker_1');
    // the note comes just before the back-off: restart 6's is 1.2 s (200 ms per restart, up to 2 s)
    const until = Date.now() + 30_000;
    while (!/restart 6\/20/.test(await readFile(log, 'utf8').catch(() => ''))) {
      assert.ok(Date.now() < until, 'no sixth restart within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    // the supervisor's own SIGTERM handler, as `--stop` reaches it (not the test runner's)
    const stoppedAt = performance.now();
    for (const l of process.listeners('SIGTERM')) if (!others.has(l)) (l as (s: NodeJS.Signals) => void)('SIGTERM');
    assert.equal(await run, 143);
    const took = performance.now() - stoppedAt;
    assert.ok(took < 600, `the run ended ${Math.round(took)} ms after the stop (the back-off was 1200 ms)`);
    const claim = (await claimsOf(runDir, 1)).batch_0001;
    assert.notEqual(claim?.state, 'done', 'the batch did not run');
    assert.doesNotMatch(await readFile(log, 'utf8'), /restart 7\//, 'no restart after the stop');
  });
});

test('after a give-up the batch queued behind it does not start: its claim is removed, and a resume runs it', async () => {
  await inTempDir('capi-slot-', async (dir) => {
    const { env, runDir } = await oneSlotRun(dir, { FAKE_EXEC_GIVEUP_BATCH: 'batch_0001' });
    assert.equal(await superviseRun(runDir, { env }), 3);
    const c = await claimsOf(runDir, 3);
    assert.equal(c.batch_0001?.state, 'failed');
    assert.equal(c.batch_0002, null, 'the queued batch was let go');
    assert.equal(c.batch_0003, null, 'no batch was claimed after the give-up');
    await assert.rejects(readFile(runPaths(runDir).resultFile('batch_0002'), 'utf8'), { code: 'ENOENT' });
    const resumed = await superviseRun(runDir, { env: { ...env, FAKE_EXEC_GIVEUP_BATCH: '' } });
    assert.equal(resumed, 0);
    const after = await claimsOf(runDir, 3);
    assert.deepEqual(
      Object.values(after).map((x) => x?.state),
      ['done', 'done', 'done'],
    );
  });
});

/**
 * A stand-in capi-merge that knows `--after-go`: writes its pid into the run folder, then
 * writes `merged` on the go line; stdin ending first is exit 3 with nothing written.
 */
const AHEAD_MERGE = `
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const run = process.argv[2];
if (!process.argv.includes('--after-go')) process.exit(9);
writeFileSync(run + '/merge-ahead.pid', String(process.pid));
for await (const line of createInterface({ input: process.stdin }))
  if (line === 'go') { writeFileSync(run + '/merged', 'yes'); process.exit(0); }
process.exit(3);
`;

/** Pids of live processes started as a merge of this run folder with `--after-go` (from /proc). */
async function afterGoMerges(runDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv: string[] = await readFile(`/proc/${name}/cmdline`, 'utf8').then(
      (t) => t.split('\0'),
      () => [],
    );
    if (argv.includes('--after-go') && argv.includes(runDir) && pidAlive(Number(name))) pids.push(Number(name));
  }
  return pids;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const exists = (path: string) =>
  fsp.stat(path).then(
    () => true,
    () => false,
  );

for (const stopped of [false, true])
  test(`the merge started ahead ${stopped ? 'is killed unread when the run is stopped' : 'runs on go, once every worker has ended'}`, async () => {
    await inTempDir('capi-merge-ahead-run-', async (dir) => {
      // both batches are claimed at once (2 slots): the merge starts with the run
      // stopped: tests slow enough (20 x 0.5 s) that the run cannot end, and tell the merge
      // to go, before a slow machine has started it and the test has sent its SIGTERM
      const { env, runDir } = await mergeScriptRun(dir, AHEAD_MERGE, 2, 20, {
        FAKE_EXEC_DELAY_MS: stopped ? '500' : '40',
      });
      const running = superviseRun(runDir, { env });
      await waitFor(() => exists(join(runDir, 'merge-ahead.pid')), 'the merge to start ahead');
      assert.ok(!(await exists(join(runDir, 'merged'))), 'nothing merged while tests run');
      const pid = Number(await readFile(join(runDir, 'merge-ahead.pid'), 'utf8'));
      // the supervisor's own handler, as a SIGTERM would call it (no signal leaves this process)
      if (stopped) process.emit('SIGTERM', 'SIGTERM');
      const code = await running;
      assert.equal(code, stopped ? 143 : 0);
      assert.equal(await exists(join(runDir, 'merged')), !stopped);
      await waitFor(async () => !pidAlive(pid), 'the merge process to be gone');
      const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
      assert.equal(end.state, stopped ? 'stopped' : 'completed');
    });
  });

/**
 * A stand-in capi-merge that writes, as it starts, how many of the run's batches were claimed
 * then and whether any result was written yet; then merges on the go.
 */
const COUNTING_MERGE = `
import { readdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const run = process.argv[2];
if (!process.argv.includes('--after-go')) process.exit(9);
const claimed = readdirSync(run + '/claims').filter((n) => n.endsWith('.json')).length;
writeFileSync(run + '/merge-start.json', JSON.stringify({ claimed }));
for await (const line of createInterface({ input: process.stdin }))
  if (line === 'go') { writeFileSync(run + '/merged', 'yes'); process.exit(0); }
process.exit(3);
`;

test('the merge started ahead starts with the run, not once every batch is claimed: it reads journals as their batches end', async () => {
  await inTempDir('capi-merge-start-', async (dir) => {
    // 8 batches on 2 slots that hold 2 each: at most 4 claimed when the slots start
    const { env, runDir } = await mergeScriptRun(dir, COUNTING_MERGE, 8, 4, { FAKE_EXEC_DELAY_MS: '150' });
    assert.equal(await superviseRun(runDir, { env }), 0);
    const start = JSON.parse(await readFile(join(runDir, 'merge-start.json'), 'utf8'));
    assert.ok(start.claimed < 8, `started with ${start.claimed} of 8 batches claimed`);
    assert.equal(await readFile(join(runDir, 'merged'), 'utf8'), 'yes');
  });
});

/**
 * A stand-in capi-merge started ahead that, on `go`, writes what it found then: the size of
 * each journal and which workers had already exited (their `exited-<pid>.json`).
 */
const LOOKING_MERGE = `
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const run = process.argv[2];
if (!process.argv.includes('--after-go')) process.exit(9);
for await (const line of createInterface({ input: process.stdin }))
  if (line === 'go') {
    const journals = {};
    for (const name of readdirSync(run + '/results').filter((n) => n.endsWith('.ndjson')))
      journals[name] = statSync(run + '/results/' + name).size;
    const exited = readdirSync(run).filter((n) => n.startsWith('exited-'));
    writeFileSync(run + '/merge-saw.json', JSON.stringify({ journals, exited }));
    process.exit(0);
  }
process.exit(3);
`;

test("the merge is told to go once every batch has answered, while the workers exit; run.json's end waits for them", async () => {
  await inTempDir('capi-merge-order-', async (dir) => {
    // 2 slots, 3 batches: the last one runs alone on one slot while the other slot's process
    // has nothing left (a go sent before it answered would see its journal short)
    const { env, runDir } = await mergeScriptRun(dir, LOOKING_MERGE, 3, 8, {
      FAKE_EXEC_DELAY_MS: '30',
      FAKE_EXEC_LINGER_MS: '2500',
    });
    assert.equal(await superviseRun(runDir, { env }), 0);
    const saw = JSON.parse(await readFile(join(runDir, 'merge-saw.json'), 'utf8'));
    // every journal was whole when the merge was let go: no worker wrote to one after it
    const names = ['batch_0001', 'batch_0002', 'batch_0003'];
    for (const b of names) {
      const size = (await fsp.stat(runPaths(runDir).resultFile(b))).size;
      assert.equal(saw.journals[`${b}.ndjson`], size, `${b}: the journal the merge saw is the final one`);
      assert.equal((await readFile(runPaths(runDir).resultFile(b), 'utf8')).trim().split('\n').length, 8);
    }
    // the go did not wait for the processes' exits (each lingers 2.5 s after its stdin ends)
    assert.deepEqual(saw.exited, [], 'the merge went while the workers were still exiting');
    // and the run's end was not written before they exited: each saw the run still running
    const exited = (await fsp.readdir(runDir)).filter((n) => n.startsWith('exited-'));
    assert.equal(exited.length, 2, 'both slots’ processes exited before the supervisor returned');
    for (const name of exited)
      assert.deepEqual(JSON.parse(await readFile(join(runDir, name), 'utf8')), { state: 'running' }, name);
    const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
    assert.deepEqual([end.state, end.verdict], ['completed', 'passed']);
  });
});

test('a claim is created holding its worker’s pid and replaced once, when its batch ends', async () => {
  await inTempDir('capi-claim-writes-', async (dir) => {
    const { env, runDir } = await standInRun(dir, { batches: 5, size: 2, parallel: 2, mergeExit: 0 });
    const claims = runPaths(runDir).claims;
    const created: Record<string, unknown>[] = [];
    const replaced: string[] = [];
    // claims are written with synchronous calls (claims.ts): created with openSync 'wx' and
    // writeFileSync on its fd, replaced by core's writeFileAtomicSync (renameSync)
    const real = { openSync: fs.openSync, writeFileSync: fs.writeFileSync, renameSync: fs.renameSync };
    const creating = new Set<number>();
    const patched = fs as unknown as Record<string, unknown>;
    patched.openSync = (path: unknown, flags: unknown, ...rest: unknown[]) => {
      const fd = (real.openSync as (...a: unknown[]) => number)(path, flags, ...rest);
      // the claim itself, not writeFileAtomicSync's temp file (also opened 'wx')
      if (String(path).startsWith(`${claims}/`) && String(path).endsWith('.json') && flags === 'wx') creating.add(fd);
      return fd;
    };
    patched.writeFileSync = (file: unknown, data: unknown, ...rest: unknown[]) => {
      if (typeof file === 'number' && creating.delete(file)) created.push(JSON.parse(String(data)));
      return (real.writeFileSync as (...a: unknown[]) => unknown)(file, data, ...rest);
    };
    patched.renameSync = (from: unknown, to: unknown) => {
      if (String(to).startsWith(`${claims}/`)) replaced.push(String(to).slice(claims.length + 1));
      return (real.renameSync as (...a: unknown[]) => unknown)(from, to);
    };
    syncBuiltinESMExports();
    try {
      assert.equal(await superviseRun(runDir, { env }), 0);
    } finally {
      Object.assign(patched, real);
      syncBuiltinESMExports();
    }
    assert.equal(created.length, 5, `one create per batch: ${JSON.stringify(created)}`);
    for (const c of created)
      assert.ok(typeof c.pid === 'number' && c.pid > 0, `created with its pid: ${JSON.stringify(c)}`);
    assert.deepEqual(replaced.sort(), [
      'batch_0001.json',
      'batch_0002.json',
      'batch_0003.json',
      'batch_0004.json',
      'batch_0005.json',
    ]);
    const final = await claimsOf(runDir, 5);
    for (const c of created) {
      const now = final[c.batch as string];
      assert.equal(now?.state, 'done');
      assert.equal(now?.pid, c.pid, 'the pid it was created with ran it');
    }
  });
});

test("control.json `workers` is written only when it changes: a fresh run's already says --parallel", async () => {
  await inTempDir('capi-control-share-', async (dir) => {
    const { env, runDir } = await standInRun(dir, { batches: 4, size: 2, parallel: 2, mergeExit: 0 });
    const control = runPaths(runDir).control;
    const written: number[] = [];
    const { rename: realRename } = fsp;
    const patched = fsp as unknown as Record<string, unknown>;
    patched.rename = async (from: unknown, to: unknown) => {
      if (String(to) === control) written.push(JSON.parse(await readFile(String(from), 'utf8')).workers);
      return (realRename as (...a: unknown[]) => unknown)(from, to);
    };
    syncBuiltinESMExports();
    try {
      assert.equal(await superviseRun(runDir, { env }), 0);
    } finally {
      patched.rename = realRename;
      syncBuiltinESMExports();
    }
    // 2 slots from the start (nothing written), then 1 as the first runs out of batches
    assert.deepEqual(written, [1]);
  });
});

/**
 * A stop (SIGTERM, SIGINT) that reaches the supervisor after the last batch has answered
 * but before the merge is told to go: when the last claim is written done, or while the
 * journals are counted (the log's `results:` line). The run ends stopped (resumable), not
 * completed; the merge started ahead is killed unread; run.json's end is written only
 * once the workers (each lingering 1.5 s after its stdin ends, a SIGTERM or not) exited.
 */
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  for (const at of ['the last claim written done', 'the journals counted'] as const)
    test(`a ${sig} after the last answer, at ${at}, before the merge's go: the run is stopped, the merge never goes, run.json's end follows the workers`, async () => {
      await inTempDir('capi-stop-before-go-', async (dir) => {
        const { env, runDir } = await mergeScriptRun(dir, AHEAD_MERGE, 3, 6, {
          FAKE_EXEC_DELAY_MS: '20',
          FAKE_EXEC_LINGER_MS: '1500',
        });
        const claims = runPaths(runDir).claims;
        let done = 0;
        let sent = false;
        const stop = () => {
          if (sent) return;
          sent = true;
          // the supervisor's own handler, as the signal would call it
          process.emit(sig, sig);
        };
        const real = { renameSync: fs.renameSync, writeFileSync: fs.writeFileSync };
        const patched = fs as unknown as Record<string, unknown>;
        patched.renameSync = (from: unknown, to: unknown) => {
          (real.renameSync as (...a: unknown[]) => unknown)(from, to);
          if (String(to).startsWith(`${claims}/`) && ++done === 3 && at === 'the last claim written done') stop();
        };
        patched.writeFileSync = (file: unknown, data: unknown, ...rest: unknown[]) => {
          const r = (real.writeFileSync as (...a: unknown[]) => unknown)(file, data, ...rest);
          if (at === 'the journals counted' && typeof data === 'string' && / results: \d+\/\d+/.test(data)) stop();
          return r;
        };
        syncBuiltinESMExports();
        let code: number;
        try {
          code = await superviseRun(runDir, { env });
        } finally {
          Object.assign(patched, real);
          syncBuiltinESMExports();
        }
        assert.ok(sent, 'the signal was sent in the window');
        assert.equal(code, sig === 'SIGINT' ? 130 : 143);
        const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
        assert.deepEqual([end.state, end.verdict, end.stopSignal], ['stopped', null, sig]);
        assert.ok(!(await exists(join(runDir, 'merged'))), 'the merge was never told to go');
        // killed unread: under load, maybe before its node had started far enough to write its pid
        await waitFor(async () => (await afterGoMerges(runDir)).length === 0, 'the merge started ahead to be gone');
        // run.json's end came after every worker's exit: none is left, and each that was
        // already ending (stdin closed) when the stop came saw the run still running
        const c = await claimsOf(runDir, 3);
        for (const x of Object.values(c)) assert.ok(x && !pidAlive(x.pid), `worker ${x?.pid} has exited`);
        const exited = (await fsp.readdir(runDir)).filter((n) => n.startsWith('exited-'));
        assert.ok(exited.length >= 1, 'a slot out of batches was ending when the stop came');
        for (const name of exited)
          assert.deepEqual(JSON.parse(await readFile(join(runDir, name), 'utf8')), { state: 'running' }, name);
        // every batch had answered: its claim stays done, and a resume only merges
        assert.deepEqual(
          Object.values(c).map((x) => x?.state),
          ['done', 'done', 'done'],
        );
        assert.equal(await superviseRun(runDir, { env }), 0);
        const after = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
        assert.deepEqual([after.state, after.verdict], ['completed', 'passed']);
      });
    });

/** Live processes whose argv holds `--serve RUN` and `--run-id ID`: the run's workers. */
function workersOf(runDir: string, runId: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const has = (flag: string, value: string) => argv.some((a, i) => a === flag && argv[i + 1] === value);
    if (has('--serve', runDir) && has('--run-id', runId) && pidAlive(Number(name))) pids.push(Number(name));
  }
  return pids;
}

test('a supervisor that fails before its slots take the early workers ends them before it lets go of the run', async () => {
  await inTempDir('capi-early-fail-', async (dir) => {
    const { m, env, runDir } = await standInRun(dir, { batches: 2, size: 2, parallel: 2, mergeExit: 0 });
    // a foreground launch's workers, started while the suite is split (early-workers.ts)
    const early = startEarlyWorkers(runWorkerSpec(runDir, m.id, m.options as LaunchOptions, env), 2);
    try {
      for (let i = 0; i < 100 && workersOf(runDir, m.id).length < 2; i++) await sleep(50);
      assert.equal(workersOf(runDir, m.id).length, 2);
      // the batch index cannot be read: the supervisor fails after taking the run and before
      // any slot starts, so no slot ever takes them (the timing is fixed, not raced)
      await writeFile(runPaths(runDir).batchIndex, '{');
      // superviseRun settles right after it let go of the run (its pid file removed, run.json
      // written `failed`): no worker of the run may be left by then
      await assert.rejects(superviseRun(runDir, { env, early }), /supervisor failed/);
      assert.equal(fs.existsSync(runPaths(runDir).pidFile), false);
      // before: both still waited on their stdin, ended only once capi-launch's supervision had returned
      assert.deepEqual(workersOf(runDir, m.id), []);
      assert.equal(JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8')).state, 'failed');
    } finally {
      await early.end();
    }
  });
});

test('a supervisor stopped before its slots take the early workers ends them before it writes `stopped` and lets go', async () => {
  await inTempDir('capi-early-stop-', async (dir) => {
    const { m, env, runDir } = await standInRun(dir, { batches: 2, size: 2, parallel: 2, mergeExit: 0 });
    const early = startEarlyWorkers(runWorkerSpec(runDir, m.id, m.options as LaunchOptions, env), 2);
    const before = process.listenerCount('SIGTERM');
    try {
      for (let i = 0; i < 100 && workersOf(runDir, m.id).length < 2; i++) await sleep(50);
      assert.equal(workersOf(runDir, m.id).length, 2);
      const run = superviseRun(runDir, { env, early });
      // the stop comes as soon as the supervisor listens for it: while it reads claims/ and the
      // batch index, before any slot has started (the supervisor's own SIGTERM handler, called
      // as a signal would call it; nothing is sent to this test process)
      // bounded by time, not by turns of the event loop: on a loaded machine taking the run (its
      // lock, run.json's write) outlasted 10,000 turns, the stop went to no listener and the run
      // ended 0; the check below says so instead of a wrong exit code
      const deadline = Date.now() + 10_000;
      while (process.listenerCount('SIGTERM') === before && Date.now() < deadline) await new Promise(setImmediate);
      assert.equal(process.listenerCount('SIGTERM'), before + 1, 'the supervisor never listened for SIGTERM');
      process.emit('SIGTERM', 'SIGTERM');
      assert.equal(await run, 143);
      assert.equal(JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8')).state, 'stopped');
      // before: both still waited on their stdin when run.json said stopped and the pid file was gone
      assert.deepEqual(workersOf(runDir, m.id), []);
    } finally {
      await early.end();
    }
  });
});

/**
 * Patches node:fs's synchronous open so that `during` runs inside the O_EXCL create of a
 * claim (claims.ts `createClaim`): what comes while the claim is written (a slow disk) is
 * there before the slot goes on, whatever the machine's speed. Returns the undo.
 */
function duringClaimCreate(runDir: string, during: (batch: string) => void): () => void {
  const claims = runPaths(runDir).claims;
  const real = fs.openSync;
  const patched = fs as unknown as Record<string, unknown>;
  patched.openSync = (path: unknown, flags: unknown, ...rest: unknown[]) => {
    const fd = (real as (...a: unknown[]) => number)(path, flags, ...rest);
    // the claim itself, not writeFileAtomicSync's temp file (also opened 'wx')
    const name = String(path).slice(claims.length + 1);
    if (String(path).startsWith(`${claims}/`) && /^batch_\d+\.json$/.test(name) && flags === 'wx')
      during(name.slice(0, -'.json'.length));
    return fd;
  };
  syncBuiltinESMExports();
  return () => {
    patched.openSync = real;
    syncBuiltinESMExports();
  };
}

/** `early` whose workers record each batch sent to them, and whether the run was stopped by then. */
function recordingEarly(early: EarlyWorkers, stopped: () => boolean) {
  const sent: Array<{ batch: string; afterStop: boolean }> = [];
  const recording: EarlyWorkers = {
    spec: early.spec,
    take(worker) {
      const w = early.take(worker);
      if (!w) return null;
      return {
        ...w,
        run(batch, total) {
          sent.push({ batch, afterStop: stopped() });
          return w.run(batch, total);
        },
      };
    },
    end: (keep) => early.end(keep),
  };
  return { sent, early: recording };
}

test('a stop while a slot writes its claim: that batch is not sent, no process is started, the claim is released, and a resume runs it', async () => {
  await inTempDir('capi-claim-stop-', async (dir) => {
    const { m, env, runDir } = await standInRun(dir, { batches: 2, size: 2, parallel: 1, mergeExit: 0 });
    // the slot's first process is there before its first claim (a foreground launch starts it
    // during the split), so any process started from here on is one too many
    const real = startEarlyWorkers(runWorkerSpec(runDir, m.id, m.options as LaunchOptions, env), 1);
    let stopped = false;
    const { sent, early } = recordingEarly(real, () => stopped);
    const undo = duringClaimCreate(runDir, () => {
      if (stopped) return;
      stopped = true;
      // the supervisor's own handler, as a SIGTERM (`--stop`) would call it
      process.emit('SIGTERM', 'SIGTERM');
    });
    let code: number;
    try {
      code = await superviseRun(runDir, { env, early });
    } finally {
      undo();
      await real.end();
    }
    assert.ok(stopped, 'the stop came during a claim write');
    assert.equal(code, 143);
    // before: batch_0001 was sent to the slot's process after the stop
    assert.deepEqual(sent, [], 'no batch was sent after the stop');
    const log = await readFile(runPaths(runDir).logFile('worker_1'), 'utf8');
    assert.doesNotMatch(log, /capi-exec started \(pid/, 'no process was started');
    assert.match(log, /batch_0001 claimed as the run stopped: released, not started/);
    assert.deepEqual(await claimsOf(runDir, 2), { batch_0001: null, batch_0002: null }, 'no claim left');
    assert.deepEqual(workersOf(runDir, m.id), []);
    const end = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
    assert.deepEqual([end.state, end.stopSignal], ['stopped', 'SIGTERM']);
    assert.equal(await superviseRun(runDir, { env }), 0, 'the resume runs every batch');
    assert.deepEqual(
      Object.values(await claimsOf(runDir, 2)).map((c) => c?.state),
      ['done', 'done'],
    );
  });
});

/**
 * A worker process's stand-in: no process; each batch sent is answered when the test says
 * (`answer`), or at once with `always`. `whenSent(n)`: once n batches have been sent to it.
 */
function answeredWorker(always?: Partial<WorkerExit>) {
  const answers = new Map<string, (e: WorkerExit) => void>();
  const sent: string[] = [];
  const waits: Array<{ n: number; done: () => void }> = [];
  let ended = false;
  const exit: WorkerExit = { pid: null, code: 0, signal: null };
  const worker: Worker = {
    pid: null,
    alive: () => !ended,
    exited: new Promise(() => {}),
    run(batch) {
      sent.push(batch);
      for (const w of waits) if (sent.length >= w.n) w.done();
      if (always) return Promise.resolve({ ...exit, ...always });
      return new Promise((done) => answers.set(batch, done));
    },
    async end() {
      ended = true;
      return exit;
    },
  };
  const answer = (batch: string, e: Partial<WorkerExit>) =>
    (answers.get(batch) as (e: WorkerExit) => void)({ ...exit, ...e });
  const whenSent = (n: number) => new Promise<void>((done) => (sent.length >= n ? done() : waits.push({ n, done })));
  return { worker, sent, answer, whenSent };
}

/**
 * A supervisor pass over a stand-in run built by hand, for one slot (`runSlot`) to be driven
 * by the test: its first process is `worker`; `shares` records each control.json share asked.
 */
async function handMadeSupervision(dir: string, batches: number, worker: Worker) {
  const { m, env, runDir } = await standInRun(dir, { batches, size: 2, parallel: 1, mergeExit: 0 });
  const names = Array.from({ length: batches }, (_, k) => batchName(k + 1, batches));
  const shares: number[] = [];
  const log: string[] = [];
  let taken = false;
  const s: Supervision = {
    runDir,
    manifest: m,
    batches: names,
    counts: new Map(names.map((b) => [b, 2])),
    claims: new Map(),
    workers: runWorkerSpec(runDir, m.id, m.options as LaunchOptions, env),
    env,
    log: (t) => log.push(t),
    stopping: false,
    letGo: false,
    halted: new AbortController(),
    gaveUp: false,
    live: new Set(),
    busySlots: 1,
    shareWith: async (n) => {
      shares.push(n);
    },
    claimFrom: { next: 0 },
    early: {
      spec: null,
      take: () => {
        if (taken) return null;
        taken = true;
        return worker;
      },
      end: async () => {},
    },
    ending: [],
  };
  return { s, m, runDir, shares, log };
}

test('a give-up while a slot writes its claim: that batch is not sent, no process is started, the claim is released', async () => {
  await inTempDir('capi-claim-giveup-', async (dir) => {
    // before the fix, batch_0001 was sent: answered at once, as never started
    const w = answeredWorker({ notStarted: true });
    const { s, m, runDir } = await handMadeSupervision(dir, 2, w.worker);
    // another slot's batch given up (run-batch.ts batchEnded) while this one writes its claim
    const undo = duringClaimCreate(runDir, () => {
      s.gaveUp = true;
    });
    try {
      await runSlot(s, 1);
    } finally {
      undo();
    }
    assert.deepEqual(w.sent, [], 'no batch was sent after the give-up');
    assert.deepEqual(await claimsOf(runDir, 2), { batch_0001: null, batch_0002: null }, 'no claim left');
    assert.deepEqual(workersOf(runDir, m.id), [], 'no process was started');
    assert.doesNotMatch(await readFile(runPaths(runDir).logFile('worker_1'), 'utf8'), /capi-exec started \(pid/);
  });
});

test('a slot still under way when a failing supervisor lets go of the run writes nothing in it after: no claim written or removed, no control.json share', async () => {
  await inTempDir('capi-let-go-', async (dir) => {
    const w = answeredWorker();
    const { s, runDir, shares } = await handMadeSupervision(dir, 2, w.worker);
    // batch_0001's journal is larger than what is read whole (1 MiB): it is streamed, and the
    // stream waits for the test, as a read on a stuck disk would
    const journal = runPaths(runDir).resultFile('batch_0001');
    const line = (id: string) =>
      `${JSON.stringify({ id, status: 'passed', batch: 'batch_0001', pad: 'x'.repeat(200) })}\n`;
    await writeFile(journal, Array.from({ length: 6000 }, (_, k) => line(k % 2 ? 'T2' : 'T1')).join(''));
    let entered: () => void = () => {};
    const reading = new Promise<void>((r) => {
      entered = r;
    });
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const realStream = fs.createReadStream;
    const patched = fs as unknown as Record<string, unknown>;
    patched.createReadStream = (path: unknown, ...rest: unknown[]) => {
      const stream = (realStream as (...a: unknown[]) => AsyncIterable<Buffer>)(path, ...rest);
      if (String(path) !== journal) return stream;
      entered();
      return (async function* () {
        await gate;
        yield* stream;
      })();
    };
    syncBuiltinESMExports();
    try {
      const slot = runSlot(s, 1);
      // both batches held by the slot's process: batch_0001 runs, batch_0002 waits behind it
      await w.whenSent(2);
      assert.deepEqual(w.sent, ['batch_0001', 'batch_0002']);
      w.answer('batch_0001', { code: 0 });
      await reading;
      // the supervisor fails meanwhile and lets go of the run once its grace is over (the
      // slot is not among those it waits for: as after the grace)
      await stopWorkers(s, []);
      assert.deepEqual(await claimsOf(runDir, 2), { batch_0001: null, batch_0002: null }, 'released at the let-go');
      // a resume takes the run at once and claims both batches for its own workers
      const theirs = (batch: string) =>
        `${JSON.stringify({ batch, worker: 7, pid: 4_000_000, state: 'running', restarts: 0, exitCode: null, claimedAt: 'x', updatedAt: 'x' })}\n`;
      for (const b of ['batch_0001', 'batch_0002']) await writeFile(runPaths(runDir).claimFile(b), theirs(b));
      const sharesAtLetGo = shares.length;
      // the stuck read ends: the batch is whole; batch_0002 never started
      open();
      w.answer('batch_0002', { notStarted: true });
      await slot;
      // before: batch_0001's claim rewritten `done` over the resume's, batch_0002's removed,
      // and control.json's `workers` shared out
      for (const b of ['batch_0001', 'batch_0002'])
        assert.equal(await readFile(runPaths(runDir).claimFile(b), 'utf8'), theirs(b), `${b}: the resume's claim`);
      assert.deepEqual(shares.slice(sharesAtLetGo), [], 'no share of the rate after the let-go');
      assert.deepEqual(w.sent, ['batch_0001', 'batch_0002'], 'nothing sent after the let-go');
    } finally {
      patched.createReadStream = realStream;
      syncBuiltinESMExports();
      open();
    }
  });
});

test('--hosts: a stop while an attempt shares the rate among its hosts starts no attempt (no GNU parallel, no claim)', async () => {
  await inTempDir('capi-remote-stop-', async (dir) => {
    const { s, runDir } = await handMadeSupervision(dir, 2, answeredWorker().worker);
    // stand-ins on PATH: an ssh that answers every host (the check-and-prepare before an
    // attempt), and a GNU parallel that runs nothing (should an attempt start after all)
    const bin = join(dir, 'bin');
    await fsp.mkdir(bin);
    await writeFile(join(bin, 'ssh'), '#!/bin/sh\ncat > /dev/null\nexit 0\n', { mode: 0o755 });
    await writeFile(join(bin, 'parallel'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    s.env = { ...s.env, PATH: process.env.PATH };
    // control.json's `workers`: asked before the hosts are checked, then for the hosts that
    // answered; the stop comes while that second write is under way
    let shares = 0;
    s.shareWith = async () => {
      if (++shares === 2) halt(s);
    };
    try {
      await superviseRemote(s, { hosts: [{ login: 'host-a', jobs: 1 }], remoteCapi: 'capi-exec', sshConfig: null });
    } finally {
      process.env.PATH = path;
    }
    assert.equal(shares, 2, 'the stop came as the attempt shared the rate among its hosts');
    // before: the attempt was staged and GNU parallel started (then sent SIGHUP), both batches claimed for it
    assert.equal(await exists(runPaths(runDir).attemptDir(1)), false, 'no attempt was staged');
    assert.deepEqual(await claimsOf(runDir, 2), { batch_0001: null, batch_0002: null }, 'no claim');
  });
});

test('--hosts: an attempt that ends after a failing supervisor let go of the run writes nothing in it: no attempt record, no claim', async () => {
  await inTempDir('capi-remote-let-go-', async (dir) => {
    const { s, runDir, log } = await handMadeSupervision(dir, 2, answeredWorker().worker);
    // stand-ins on PATH: an ssh that answers every host, and a GNU parallel that says it has
    // started, then waits until the test writes to a FIFO (an attempt still under way)
    const bin = join(dir, 'bin');
    const fifo = join(dir, 'attempt-ends');
    await fsp.mkdir(bin);
    execFileSync('mkfifo', [fifo]);
    await writeFile(join(bin, 'ssh'), '#!/bin/sh\ncat > /dev/null\nexit 0\n', { mode: 0o755 });
    await writeFile(join(bin, 'parallel'), `#!/bin/sh\necho started\ncat '${fifo}' > /dev/null\nexit 0\n`, {
      mode: 0o755,
    });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    s.env = { ...s.env, PATH: process.env.PATH };
    let started: () => void = () => {};
    const running = new Promise<void>((r) => {
      started = r;
    });
    // the supervisor logs GNU parallel's stdout: by then the attempt's claims are written
    s.log = (t) => {
      log.push(t);
      if (t.includes('parallel (stdout): started')) started();
    };
    try {
      const remote = superviseRemote(s, {
        hosts: [{ login: 'host-a', jobs: 1 }],
        remoteCapi: 'capi-exec',
        sshConfig: null,
      });
      await running;
      // the supervisor fails meanwhile and lets go of the run once its grace is over (GNU
      // parallel, still alive, keeps its claims: the resume stops it as a left-over worker)
      await stopWorkers(s, []);
      // a resume takes the run and claims both batches; the attempt's results are whole
      const theirs = (batch: string) =>
        `${JSON.stringify({ batch, worker: 7, pid: 4_000_000, state: 'running', restarts: 0, exitCode: null, claimedAt: 'x', updatedAt: 'x' })}\n`;
      for (const [b, ids] of [
        ['batch_0001', ['T1', 'T2']],
        ['batch_0002', ['T3', 'T4']],
      ] as const) {
        await writeFile(runPaths(runDir).claimFile(b), theirs(b));
        const lines = ids.map((id) => JSON.stringify({ id, status: 'passed', batch: b }));
        await writeFile(runPaths(runDir).resultFile(b), `${lines.join('\n')}\n`);
      }
      const attempts = await readFile(runPaths(runDir).attempts, 'utf8').catch(() => '');
      // the attempt ends
      await writeFile(fifo, 'end\n');
      await remote;
      // before: each batch's attempt recorded `done` and its claim rewritten over the resume's
      for (const b of ['batch_0001', 'batch_0002'])
        assert.equal(await readFile(runPaths(runDir).claimFile(b), 'utf8'), theirs(b), `${b}: the resume's claim`);
      assert.equal(await readFile(runPaths(runDir).attempts, 'utf8').catch(() => ''), attempts, 'no attempt record');
    } finally {
      process.env.PATH = path;
      // the stand-in GNU parallel, should it still wait (a failed assertion before its end)
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // no one reads it any more
      }
    }
  });
});

test("--hosts: a control.json that cannot be read is no change for the hosts, as for a worker here: a paused run's hosts stay paused", async () => {
  await inTempDir('capi-remote-unreadable-', async (dir) => {
    const { s, runDir } = await handMadeSupervision(dir, 2, answeredWorker().worker);
    await writeFile(runPaths(runDir).control, '{"paused":true,"workers":1}\n');
    // stand-ins on PATH: an ssh that answers every host and notes each control.json pushed to
    // one, and a GNU parallel that says it has started, then waits for the test (an attempt under way)
    const bin = join(dir, 'bin');
    const pushes = join(dir, 'pushes');
    const fifo = join(dir, 'attempt-ends');
    await fsp.mkdir(bin);
    execFileSync('mkfifo', [fifo]);
    await writeFile(
      join(bin, 'ssh'),
      `#!/bin/sh\ncase "$*" in\n  *'control.json.$$'*) { cat; echo; } >> '${pushes}' ;;\n  *) cat > /dev/null ;;\nesac\nexit 0\n`,
      { mode: 0o755 },
    );
    await writeFile(join(bin, 'parallel'), `#!/bin/sh\necho started\ncat '${fifo}' > /dev/null\nexit 0\n`, {
      mode: 0o755,
    });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    s.env = { ...s.env, PATH: process.env.PATH };
    const pushed = async () =>
      (await readFile(pushes, 'utf8').catch(() => '')).split('\n').filter((l) => l.trim() !== '');
    let remote: Promise<unknown> = Promise.resolve();
    try {
      remote = superviseRemote(s, {
        hosts: [{ login: 'host-a', jobs: 1 }],
        remoteCapi: 'capi-exec',
        sshConfig: null,
      });
      // the push loop's first send (a second into the attempt): paused
      for (let i = 0; i < 100 && (await pushed()).length === 0; i++) await sleep(100);
      const first = await pushed();
      assert.ok(first.length > 0 && first.every((t) => JSON.parse(t).paused === true), first.join(' | '));
      // control.json gone (a hand's rm; the same for EACCES, EISDIR, EMFILE): 2.5 pushes' time
      await rm(runPaths(runDir).control);
      await sleep(2500);
      const later = (await pushed()).slice(first.length);
      // before: {"rate":…,"workers":1} went to the hosts, and their capi-exec went on
      assert.deepEqual(
        later.filter((t) => JSON.parse(t).paused !== true),
        [],
        'an unpaused control.json pushed',
      );
      // the attempt's batches are whole; it ends
      for (const [b, ids] of [
        ['batch_0001', ['T1', 'T2']],
        ['batch_0002', ['T3', 'T4']],
      ] as const) {
        const lines = ids.map((id) => JSON.stringify({ id, status: 'passed', batch: b }));
        await writeFile(runPaths(runDir).resultFile(b), `${lines.join('\n')}\n`);
      }
      await writeFile(fifo, 'end\n');
      await remote;
    } finally {
      process.env.PATH = path;
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // no one reads it any more
      }
      // a failed assertion before the attempt's end: it ends before the folder is removed
      await remote.catch(() => {});
    }
  });
});

test('a second supervisor refuses a run whose live supervisor is named by run.json alone (its supervisor.pid removed)', async () => {
  await inTempDir('capi-second-supervisor-', async (dir) => {
    const { env, runDir } = await standInRun(dir, { batches: 1, size: 1, parallel: 1, mergeExit: 0 });
    const first = await standInSupervisor(runDir);
    try {
      const m = JSON.parse(await readFile(runPaths(runDir).manifest, 'utf8'));
      await writeFile(runPaths(runDir).manifest, JSON.stringify({ ...m, state: 'running', pid: first.pid }));
      // before: takeRun read supervisor.pid alone, found none, and took the run from under it
      await assert.rejects(superviseRun(runDir, { env }), /is already supervised by pid \d+/);
      assert.equal(fs.existsSync(runPaths(runDir).pidFile), false, 'nothing written');
    } finally {
      await first.stop();
    }
  });
});

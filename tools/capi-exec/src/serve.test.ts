import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, parseLines, runTool, testEnv } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

const scope = fileScope();

/** A run folder with these batches (as capi-split --out makes them) and the folders workers write. */
async function runFolder(batches: Record<string, Array<Record<string, unknown>>>): Promise<string> {
  const run = join(await scope.scratch(), 'run');
  for (const sub of ['batches', 'results', 'status', 'logs']) await mkdir(join(run, sub), { recursive: true });
  for (const [name, records] of Object.entries(batches))
    await writeFile(join(run, 'batches', `${name}.ndjson`), ndjson(records));
  return run;
}

const request = (batch: string, total: number | null = null) => `${JSON.stringify({ batch, total })}\n`;
const read = (run: string, sub: string, file: string) => readFile(join(run, sub, file), 'utf8');
const idsOf = (text: string) => (parseLines(text) as Array<{ id: string }>).map((r) => r.id);
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

test('--serve: batch after batch in one process, each with its own journal, heartbeat, log and answer', async () => {
  const s = await scope.server((req, res) => res.end(req.url === '/bad' ? 'nope' : 'ok'));
  const body = { expect: { body: 'ok' } };
  const run = await runFolder({
    batch_0001: range('A', 5).map((id) => get(id, '/ok', body)),
    batch_0002: [...range('B', 3).map((id) => get(id, '/ok', body)), get('B4', '/bad', body)],
    batch_0003: [get('C1', '/ok'), { id: 'C2', request: { method: 'GET' } }],
  });
  const input = request('batch_0001', 5) + request('batch_0002', 4) + request('batch_0003') + request('batch_0004');
  const r = await runTool('capi-exec', ['--serve', run, '--base-url', s.url, '--run-id', 'R1', '--worker', '2'], {
    input,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLines(r.stdout), [
    { batch: 'batch_0001', code: 0 },
    { batch: 'batch_0002', code: 1 },
    { batch: 'batch_0003', code: 2 },
    { batch: 'batch_0004', code: 2 },
  ]);
  assert.equal(r.stderr, '', 'every message belongs to a batch: logs/<batch>.log');
  const first = parseLines(await read(run, 'results', 'batch_0001.ndjson')) as Array<Record<string, unknown>>;
  assert.deepEqual(first.map((x) => x.id).sort(), range('A', 5));
  for (const x of first) assert.deepEqual([x.batch, x.worker, x.runId, x.status], ['batch_0001', 2, 'R1', 'passed']);
  assert.deepEqual(idsOf(await read(run, 'results', 'batch_0002.ndjson')).sort(), [...range('B', 4)]);
  const beat = JSON.parse(await read(run, 'status', 'batch_0002.json'));
  assert.deepEqual([beat.state, beat.batch, beat.total, beat.done, beat.failed], ['completed', 'batch_0002', 4, 4, 1]);
  assert.match(await read(run, 'logs', 'batch_0001.log'), /^capi-exec: 5 ran, 5 passed/m);
  assert.match(await read(run, 'logs', 'batch_0002.log'), /1 failed/);
  // bad input in one batch is that batch's exit 2, named by file and line; the next still runs
  assert.match(await read(run, 'logs', 'batch_0003.log'), /batch_0003\.ndjson:2: .*url/);
  assert.match(await read(run, 'logs', 'batch_0004.log'), /batch_0004\.ndjson: cannot read: no such file/);
  assert.equal(s.hits.length, 9);
});

test('--serve: a batch file whose batches/ a capi-split --force left aside is named with the folder that holds it', async () => {
  const run = await runFolder({ batch_0001: [get('T1', '/x')] });
  const aside = join(run, '.batches.old-123-abc-0a1b2c3d-Xy12Zq');
  await rename(join(run, 'batches'), aside);
  const r = await runTool('capi-exec', ['--serve', run, '--base-url', 'http://127.0.0.1:9'], {
    input: request('batch_0001', 1),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLines(r.stdout), [{ batch: 'batch_0001', code: 2 }]);
  const log = await read(run, 'logs', 'batch_0001.log');
  const said = `batch_0001.ndjson: cannot read: no such file (${join(run, 'batches')} is missing: ${aside} beside it holds its batches, set aside by a capi-split --force that did not finish; `;
  assert.ok(log.includes(said), log);
});

test('--serve: a logs/ removed under the run is made again (said once); one that cannot be written is said once, and the batches go on', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const batches = {
    batch_0001: range('A', 2).map((id) => get(id, '/ok')),
    batch_0002: range('B', 2).map((id) => get(id, '/ok')),
  };
  const input = request('batch_0001', 2) + request('batch_0002', 2);
  const removed = await runFolder(batches);
  await rm(join(removed, 'logs'), { recursive: true });
  const r = await runTool('capi-exec', ['--serve', removed, '--base-url', s.url], { input });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseLines(r.stdout), [
    { batch: 'batch_0001', code: 0 },
    { batch: 'batch_0002', code: 0 },
  ]);
  assert.equal(
    r.stderr,
    `capi-exec: ${join(removed, 'logs')} was missing (removed under a live run): made again for the batches' messages\n`,
  );
  assert.equal((await stat(join(removed, 'logs'))).mode & 0o777, 0o700);
  for (const b of ['batch_0001', 'batch_0002'])
    assert.match(await read(removed, 'logs', `${b}.log`), /^capi-exec: 2 ran, 2 passed/m, b);
  // logs/ is a file: nothing can be written there; said once, and both batches run
  const blocked = await runFolder(batches);
  await rm(join(blocked, 'logs'), { recursive: true });
  await writeFile(join(blocked, 'logs'), 'not a folder\n');
  const b = await runTool('capi-exec', ['--serve', blocked, '--base-url', s.url], { input });
  assert.equal(b.code, 0, b.stderr);
  assert.equal(parseLines(b.stdout).length, 2);
  const said = b.stderr.trim().split('\n');
  assert.equal(said.length, 1, b.stderr);
  assert.match(
    said[0] as string,
    /^capi-exec: cannot write \S+\/logs\/batch_0001\.log: .*; the batches go on without their messages there/,
  );
  assert.equal(idsOf(await read(blocked, 'results', 'batch_0002.ndjson')).length, 2);
});

test('--serve resumes each batch from its journal, as a one-batch capi-exec does', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const run = await runFolder({ batch_0001: range('T', 6).map((id) => get(id, '/x')) });
  const one = await runTool('capi-exec', ['--serve', run, '--base-url', s.url], { input: request('batch_0001', 6) });
  assert.equal(one.code, 0, one.stderr);
  const kept = (await read(run, 'results', 'batch_0001.ndjson')).split('\n').slice(0, 3).join('\n');
  await writeFile(join(run, 'results', 'batch_0001.ndjson'), `${kept}\n`);
  const again = await runTool('capi-exec', ['--serve', run, '--base-url', s.url], { input: request('batch_0001', 6) });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(s.hits.length, 9, 'only the 3 tests without a result ran again');
  assert.deepEqual(idsOf(await read(run, 'results', 'batch_0001.ndjson')).sort(), range('T', 6).sort());
  assert.match(await read(run, 'logs', 'batch_0001.log'), /resuming: 3 tests/);
});

test('--serve: --rate is the process pace across batches, not started afresh by each', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const names = ['batch_0001', 'batch_0002', 'batch_0003', 'batch_0004', 'batch_0005', 'batch_0006'];
  const run = await runFolder(
    Object.fromEntries(names.map((b, k) => [b, range(`B${k}-`, 2).map((id) => get(id, '/x'))])),
  );
  const r = await runTool('capi-exec', ['--serve', run, '--base-url', s.url, '--rate', '10/s'], {
    input: names.map((b) => request(b)).join(''),
  });
  assert.equal(r.code, 0, r.stderr);
  const at = s.hits.map((h) => h.at);
  assert.equal(at.length, 12);
  // 10/s spaces the 12 starts 100 ms apart (1.1 s from first to last); a limiter made
  // afresh for each batch would start each batch's first test at once (about 0.6 s)
  const span = (at[11] as number) - (at[0] as number);
  assert.ok(span >= 950, `12 starts at 10/s took ${Math.round(span)} ms`);
});

test('--serve: SIGTERM stops the batch in flight as capi-exec does (answer and exit 143); idle, it exits at once', async () => {
  const s = await scope.server((_req, res) => setTimeout(() => res.end('ok'), 30));
  const run = await runFolder({ batch_0001: range('T', 400).map((id) => get(id, '/x')) });
  const w = spawnExec(['--serve', run, '--base-url', s.url, '--concurrency', '4'], {
    input: request('batch_0001', 400) + request('batch_0002'),
  });
  await waitFor(() => s.hits.length >= 20);
  w.child.kill('SIGTERM');
  const r = await w.done;
  assert.equal(r.code, 143, r.stderr);
  assert.deepEqual(parseLines(r.stdout), [{ batch: 'batch_0001', code: 143 }]);
  const done = idsOf(await read(run, 'results', 'batch_0001.ndjson'));
  assert.ok(done.length > 0 && done.length < 400, `journal has ${done.length}`);
  assert.equal(JSON.parse(await read(run, 'status', 'batch_0001.json')).state, 'stopped');

  assert.equal(s.hits.filter((h) => h.path !== '/x').length, 0, 'batch_0002 was never started');

  // stdin left open: after its batch the worker waits for the next one, and a stop ends the wait
  await writeFile(join(run, 'batches', 'batch_0003.ndjson'), ndjson([get('I1', '/x')]));
  const idle = spawn(process.execPath, [binPath('capi-exec'), '--serve', run, '--base-url', s.url], {
    env: testEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  idle.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const ended = new Promise<number | null>((resolve) => idle.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => idle.kill('SIGKILL'), 20_000);
  idle.stdin.write(request('batch_0003', 1));
  await waitFor(() => out.includes('\n'), 15_000);
  idle.kill('SIGTERM');
  assert.equal(await ended, 143);
  clearTimeout(killer);
  assert.deepEqual(parseLines(out), [{ batch: 'batch_0003', code: 0 }]);
});

test('--serve: --delay is paid before the next batch, not before a batch is answered', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const run = await runFolder({ batch_0001: [get('A1', '/a')], batch_0002: [get('B1', '/b')] });
  const idle = spawn(process.execPath, [binPath('capi-exec'), '--serve', run, '--base-url', s.url, '--delay', '1500'], {
    env: testEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const answers: number[] = [];
  let out = '';
  idle.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    while (answers.length < out.split('\n').length - 1) answers.push(performance.now());
  });
  const ended = new Promise<number | null>((resolve) => idle.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => idle.kill('SIGKILL'), 20_000);
  try {
    idle.stdin.write(request('batch_0001', 1));
    await waitFor(() => answers.length === 1, 15_000);
    const [a] = s.hits.map((h) => h.at) as [number];
    // the answer follows the test, not its pause: a run whose last batch this is ends now
    assert.ok(
      (answers[0] as number) - a < 1000,
      `answered ${Math.round((answers[0] as number) - a)} ms after its test`,
    );
    idle.stdin.end(request('batch_0002', 1));
    await waitFor(() => answers.length === 2, 15_000);
    const b = s.hits[1]?.at as number;
    // the next batch's test starts a whole --delay after the last one ended
    assert.ok(b - a >= 1450, `the next batch started ${Math.round(b - a)} ms after the last test`);
    assert.equal(await ended, 0);
    assert.ok(performance.now() - b < 1400, 'no pause after the last batch: the process ended with its test');
  } finally {
    clearTimeout(killer);
    idle.kill('SIGKILL');
  }
  assert.deepEqual(parseLines(out), [
    { batch: 'batch_0001', code: 0 },
    { batch: 'batch_0002', code: 0 },
  ]);
});

test('--serve refuses a request that is not a batch of the run, and the per-batch flags', async () => {
  const run = await runFolder({});
  for (const [line, field] of [
    ['{"batch":"../../etc/passwd"}', 'batch'],
    ['{"batch":"batch_0001","total":-1}', 'total'],
    ['"batch_0001"', 'batch'],
  ] as const) {
    const r = await runTool('capi-exec', ['--serve', run], { input: `${line}\n` });
    assert.equal(r.code, 2, line);
    assert.match(r.stderr, new RegExp(`<stdin>:1: field "${field}"`));
    assert.equal(r.stdout, '');
  }
  for (const flag of ['--in', '--journal', '--status', '--batch', '--total']) {
    const r = await runTool('capi-exec', ['--serve', run, flag, '1'], { input: '' });
    assert.equal(r.code, 2, flag);
    assert.match(r.stderr, new RegExp(`--serve takes ${flag} from each request`));
  }
});

test('--serve whose supervisor is already gone when it starts (killed during its start-up) runs no batch: exit 143', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const run = await runFolder({ batch_0001: range('A', 3).map((id) => get(id, '/ok')) });
  // the supervisor names itself (CAPI_SUPERVISOR_PID); this worker's parent is another
  // process, as a worker's is once reparented: its first look must see it
  const r = await runTool('capi-exec', ['--serve', run, '--base-url', s.url, '--run-id', 'R1', '--worker', '1'], {
    input: request('batch_0001', 3),
    env: { CAPI_SUPERVISOR_PID: String(2 ** 22 + 7) },
  });
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /the process that started it \(pid 4194311\) is gone/);
  assert.equal(s.hits.length, 0, 'no test sent');
  assert.equal(await stat(join(run, 'results', 'batch_0001.ndjson')).catch(() => null), null, 'no journal');
});

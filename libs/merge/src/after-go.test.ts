import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { merge, mergeAfterGo } from './merge.js';

// mergeAfterGo (capi-merge --after-go) reads the batch files and the suite before its go;
// what changed since must still be seen, and the reports are the ones merge() writes.

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'capi-merge-after-go-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const NOW = new Date('2026-01-01T11:00:00.000Z');

const testLine = (id: string, name = `name of ${id}`) =>
  `${JSON.stringify({
    id,
    name,
    seq: 0,
    request: { method: 'GET', url: `/items/${id}`, headers: {}, body: null },
    expect: { status: '2xx', body: null, json: null, maxMs: null },
    timeoutMs: null,
    tags: ['t'],
    enabled: true,
    vars: {},
    source: null,
  })}\n`;

const resultLine = (id: string, status: string, at: number) =>
  `${JSON.stringify({
    id,
    name: `name of ${id}`,
    status,
    attempts: 1,
    startedAt: new Date(Date.parse('2026-01-01T10:30:00.000Z') + at * 1000).toISOString(),
    durationMs: 12.5 + at,
    response: { status: status === 'passed' ? 200 : 500, bytes: 10 },
    failures: status === 'failed' ? [{ check: 'status', expected: '2xx', actual: '500' }] : [],
    error: null,
    batch: 'batch_0001',
    worker: 1,
    runId: 'capi_test_20260101_103000',
    tags: ['t'],
    shard: null,
  })}\n`;

async function runFolder(name: string): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(join(dir, 'batches'), { recursive: true });
  await mkdir(join(dir, 'results'), { recursive: true });
  await mkdir(join(dir, 'claims'), { recursive: true });
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({ id: 'capi_test_20260101_103000', state: 'completed', suite: { file: '/suite.csv' }, options: {} }),
  );
  await writeFile(join(dir, 'batches', 'batch_0001.ndjson'), testLine('G1') + testLine('G2'));
  await writeFile(join(dir, 'batches', 'batch_0002.ndjson'), testLine('G3'));
  return dir;
}

const results = (dir: string) =>
  writeFile(
    join(dir, 'results', 'batch_0001.ndjson'),
    resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1) + resultLine('G3', 'passed', 2),
  );

const options = (dir: string, out: string) => ({
  inputs: [dir],
  now: NOW,
  outputJson: join(out, 'r.json'),
  outputCsv: join(out, 'r.csv'),
  outputReport: join(out, 'r.txt'),
  junit: join(out, 'j.xml'),
});

async function reports(out: string): Promise<string[]> {
  return Promise.all(['r.json', 'r.csv', 'r.txt', 'j.xml'].map((f) => readFile(join(out, f), 'utf8')));
}

// A file changed in the last second is not trusted (timestamp granularity): the fixtures wait that out.
const settle = () => new Promise((r) => setTimeout(r, 1100));

test('the early read is kept when nothing changed, and the reports are byte for byte merge()’s', async () => {
  const dir = await runFolder('kept');
  await settle();
  const early = join(tmp, 'kept-early');
  const plain = join(tmp, 'kept-plain');
  let told = false;
  const outcome = await mergeAfterGo(options(dir, early), async () => {
    // the journals come only now
    await results(dir);
    told = true;
    return true;
  });
  assert.ok(told);
  assert.equal(outcome?.readAhead, true);
  assert.equal(outcome?.counts.total, 3);
  assert.equal(outcome?.counts.failed, 1);
  await merge(options(dir, plain));
  assert.deepEqual(await reports(early), await reports(plain));
});

test('a batch file changed after the early read is read again: same size, or one more test', async () => {
  for (const [name, change] of [
    // the same bytes but one id: only the stamp (mtime, ctime) tells
    ['same-size', (dir: string) => writeFile(join(dir, 'batches', 'batch_0002.ndjson'), testLine('G4'))],
    ['grown', (dir: string) => writeFile(join(dir, 'batches', 'batch_0002.ndjson'), testLine('G3') + testLine('G5'))],
    ['new batch', (dir: string) => writeFile(join(dir, 'batches', 'batch_0003.ndjson'), testLine('G6'))],
  ] as const) {
    const dir = await runFolder(name);
    await settle();
    const out = join(tmp, `${name}-out`);
    const outcome = await mergeAfterGo(options(dir, out), async () => {
      await results(dir);
      await change(dir);
      return true;
    });
    assert.equal(outcome?.readAhead, false, name);
    assert.equal(outcome?.counts.missing, 1, name);
    await merge(options(dir, join(tmp, `${name}-plain`)));
    assert.deepEqual(await reports(out), await reports(join(tmp, `${name}-plain`)), name);
  }
});

test('a batch file written in the last second is not read early', async () => {
  const dir = await runFolder('fresh');
  const outcome = await mergeAfterGo(options(dir, join(tmp, 'fresh-out')), async () => {
    await results(dir);
    return true;
  });
  assert.equal(outcome?.readAhead, false);
  assert.equal(outcome?.counts.total, 3);
});

test('no go: nothing merged, nothing written', async () => {
  const dir = await runFolder('no-go');
  await settle();
  const out = join(tmp, 'no-go-out');
  assert.equal(await mergeAfterGo(options(dir, out), async () => false), null);
  await assert.rejects(readFile(join(out, 'r.json')), { code: 'ENOENT' });
});

test('stdin ended without a go: the early read stops at the next file, not after the whole folder', async () => {
  const dir = await runFolder('no-go-early');
  for (let n = 3; n <= 40; n++)
    await writeFile(join(dir, 'batches', `batch_${String(n).padStart(4, '0')}.ndjson`), testLine(`N${n}`));
  await settle();
  let asked = 0;
  // known from the second look on: nothing read after it
  const noGo = () => ++asked >= 2;
  assert.equal(await mergeAfterGo(options(dir, join(tmp, 'no-go-early-out')), async () => false, noGo), null);
  assert.equal(asked, 2, 'asked before each batch file, stopped at the first "no go"');
});

test('an early read that fails is dropped: the merge after the go says what it always said', async () => {
  const dir = await runFolder('bad');
  await writeFile(join(dir, 'batches', 'batch_0002.ndjson'), '{"id": oops\n');
  await settle();
  let told = false;
  await assert.rejects(
    mergeAfterGo(options(dir, join(tmp, 'bad-out')), async () => {
      told = true;
      return true;
    }),
    /batch_0002\.ndjson:1: malformed JSON/,
  );
  assert.ok(told, 'the failure comes after the go');
});

/** What capi-launch's supervisor writes once a batch has ended: its journal is complete. */
const claim = (dir: string, batch: string, state: 'running' | 'done') =>
  writeFile(join(dir, 'claims', `${batch}.json`), JSON.stringify({ batch, worker: 1, pid: 1, state }));

test('journals complete before the go are read early; one still written, or appended to after the read, is seen', async () => {
  // a journal complete early has its batch's claim `done` (the adversarial cases append to it anyway)
  const write = async (dir: string, file: string, text: string) => {
    await writeFile(join(dir, 'results', file), text);
    await claim(dir, file.replace('.ndjson', ''), 'done');
  };
  for (const [name, early, atGo, kept] of [
    // batch_0001's journal complete early, batch_0002's written at the go: kept
    [
      'prefix',
      (dir: string) => write(dir, 'batch_0001.ndjson', resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1)),
      (dir: string) => write(dir, 'batch_0002.ndjson', resultLine('G3', 'passed', 2)),
      true,
    ],
    // a journal read early gets one more line (a rerun of G2) before the go: everything read again
    [
      'appended',
      (dir: string) => write(dir, 'batch_0001.ndjson', resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1)),
      async (dir: string) => {
        await writeFile(
          join(dir, 'results', 'batch_0001.ndjson'),
          resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1) + resultLine('G2', 'passed', 3),
        );
        await write(dir, 'batch_0002.ndjson', resultLine('G3', 'passed', 2));
      },
      false,
    ],
    // a journal that sorts before one read early appears (a name no batch has): everything
    // read again (reading order)
    [
      'earlier name',
      (dir: string) => write(dir, 'batch_0001.ndjson', resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1)),
      (dir: string) => write(dir, 'batch_0000.ndjson', resultLine('G3', 'passed', 2)),
      false,
    ],
    // a later batch's journal complete before the earlier batch's exists: read in batch
    // order, so not read early (it would sort after the earlier one once that appears)
    [
      'later batch first',
      (dir: string) => write(dir, 'batch_0002.ndjson', resultLine('G3', 'passed', 2)),
      (dir: string) => write(dir, 'batch_0001.ndjson', resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1)),
      true,
    ],
    // a torn last line in a journal read early: its warning said once, after the go, in its place
    [
      'torn',
      (dir: string) =>
        write(dir, 'batch_0001.ndjson', `${resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1)}{"id":"G`),
      (dir: string) => write(dir, 'batch_0002.ndjson', `${resultLine('G3', 'passed', 2)}{"id":"G3`),
      true,
    ],
  ] as const) {
    const dir = await runFolder(`journals-${name}`);
    await early(dir);
    await settle();
    const warned: string[] = [];
    let told = false;
    const opts = { ...options(dir, join(tmp, `journals-${name}-out`)), warn: (m: string) => warned.push(m) };
    const outcome = await mergeAfterGo(opts, async () => {
      assert.deepEqual(warned, [], 'nothing said before the go');
      await atGo(dir);
      told = true;
      return true;
    });
    assert.ok(told);
    assert.equal(outcome?.readAhead, kept, name);
    const plainWarned: string[] = [];
    const plain = await merge({
      ...options(dir, join(tmp, `journals-${name}-plain`)),
      warn: (m) => plainWarned.push(m),
    });
    assert.deepEqual(outcome?.counts, plain.counts, name);
    assert.deepEqual(
      await reports(join(tmp, `journals-${name}-out`)),
      await reports(join(tmp, `journals-${name}-plain`)),
      name,
    );
    assert.deepEqual(warned, plainWarned, name);
  }
});

test('a quiet journal of a batch not done yet (a slow test, a retry waiting) is not read early: its next line costs no second read', async () => {
  for (const state of ['running', null] as const) {
    const dir = await runFolder(`quiet-${state}`);
    await writeFile(join(dir, 'results', 'batch_0001.ndjson'), resultLine('G1', 'passed', 0));
    if (state) await claim(dir, 'batch_0001', state);
    await settle();
    const opts = options(dir, join(tmp, `quiet-${state}-out`));
    const outcome = await mergeAfterGo(opts, async () => {
      await writeFile(
        join(dir, 'results', 'batch_0001.ndjson'),
        resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1),
      );
      await claim(dir, 'batch_0001', 'done');
      await writeFile(join(dir, 'results', 'batch_0002.ndjson'), resultLine('G3', 'passed', 2));
      return true;
    });
    // kept: only the batch files were read early, and they did not change
    assert.equal(outcome?.readAhead, true, String(state));
    const plain = await merge(options(dir, join(tmp, `quiet-${state}-plain`)));
    assert.deepEqual(outcome?.counts, plain.counts);
    assert.deepEqual(await reports(join(tmp, `quiet-${state}-out`)), await reports(join(tmp, `quiet-${state}-plain`)));
  }
});

test('--skip-bad-lines: a malformed line in a journal read early is counted and warned about once, after the go', async () => {
  const dir = await runFolder('skip');
  await writeFile(
    join(dir, 'results', 'batch_0001.ndjson'),
    `${resultLine('G1', 'passed', 0)}{"id": oops\n${resultLine('G2', 'passed', 1)}`,
  );
  await claim(dir, 'batch_0001', 'done');
  await settle();
  const warned: string[] = [];
  const opts = { ...options(dir, join(tmp, 'skip-out')), skipBadLines: true, warn: (m: string) => warned.push(m) };
  const outcome = await mergeAfterGo(opts, async () => {
    await writeFile(join(dir, 'results', 'batch_0002.ndjson'), `{"bad"\n${resultLine('G3', 'passed', 2)}`);
    return true;
  });
  assert.equal(outcome?.readAhead, true);
  const plainWarned: string[] = [];
  const plain = await merge({
    ...options(dir, join(tmp, 'skip-plain')),
    skipBadLines: true,
    warn: (m) => plainWarned.push(m),
  });
  assert.equal(outcome?.skippedLines, 2);
  assert.equal(plain.skippedLines, 2);
  assert.deepEqual(warned, plainWarned);
  assert.deepEqual(await reports(join(tmp, 'skip-out')), await reports(join(tmp, 'skip-plain')));
});

/** A go that the test gives by hand: `until` for mergeAfterGo's wait, and `go()` to let it merge. */
function handGo() {
  let give: (go: boolean) => void = () => {};
  const until = new Promise<boolean>((r) => {
    give = r;
  });
  return { until, go: () => until, give };
}

test('waiting for the go (capi-launch starts its merge with the run): batch files just written are waited out, not given up', async () => {
  const dir = await runFolder('wait-fresh');
  await results(dir);
  const hand = handGo();
  const merging = mergeAfterGo(options(dir, join(tmp, 'wait-fresh-out')), hand.go, () => false, hand.until);
  // past the batch files' second: read early, so they are stamped and kept
  await settle();
  await settle();
  hand.give(true);
  const outcome = await merging;
  assert.equal(outcome?.readAhead, true);
  await merge(options(dir, join(tmp, 'wait-fresh-plain')));
  assert.deepEqual(await reports(join(tmp, 'wait-fresh-out')), await reports(join(tmp, 'wait-fresh-plain')));
});

test('waiting for the go: journals are read as their batches end, in batch order, a later batch ending first included', async () => {
  // batch_0002 ends first, batch_0001 later (it started later: its journal appears only then)
  const write = async (dir: string, batch: string, text: string) => {
    await writeFile(join(dir, 'results', `${batch}.ndjson`), text);
    await claim(dir, batch, 'done');
  };
  for (const touched of [false, true]) {
    const name = `wait-journals-${touched ? 'touched' : 'kept'}`;
    const dir = await runFolder(name);
    await settle();
    const hand = handGo();
    const merging = mergeAfterGo(options(dir, join(tmp, `${name}-out`)), hand.go, () => false, hand.until);
    await write(dir, 'batch_0002', resultLine('G3', 'passed', 2));
    await settle();
    await write(dir, 'batch_0001', resultLine('G1', 'passed', 0) + resultLine('G2', 'failed', 1));
    // both read before the go: a second for each to settle, and a few looks
    await settle();
    await settle();
    // one line more in a journal read early (never done by a run: the proof it was read before the go)
    if (touched)
      await writeFile(
        join(dir, 'results', 'batch_0002.ndjson'),
        resultLine('G3', 'passed', 2) + resultLine('G3', 'failed', 3),
      );
    hand.give(true);
    const outcome = await merging;
    // read before the go: kept, or, changed after that read, dropped and read again
    assert.equal(outcome?.readAhead, !touched, name);
    const plain = await merge(options(dir, join(tmp, `${name}-plain`)));
    assert.deepEqual(outcome?.counts, plain.counts, name);
    assert.deepEqual(await reports(join(tmp, `${name}-out`)), await reports(join(tmp, `${name}-plain`)), name);
  }
});

test('waiting for the go: stdin ending without one ends the wait at once, nothing merged', async () => {
  const dir = await runFolder('wait-no-go');
  await settle();
  const hand = handGo();
  let ended = false;
  const started = Date.now();
  const merging = mergeAfterGo(options(dir, join(tmp, 'wait-no-go-out')), hand.go, () => ended, hand.until);
  // the first batch's journal never comes: the merge waits for it
  await new Promise((r) => setTimeout(r, 300));
  ended = true;
  hand.give(false);
  assert.equal(await merging, null);
  assert.ok(Date.now() - started < 5000, 'no wait past stdin’s end');
  await assert.rejects(readFile(join(tmp, 'wait-no-go-out', 'r.json')), { code: 'ENOENT' });
});

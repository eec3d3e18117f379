import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createTeardownTally, type JournalResult, lastResults } from './last-results.js';
import { eachNdjsonLine, readNdjson } from './ndjson.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function journal(lines: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'capi-last-results-'));
  dirs.push(dir);
  const path = join(dir, 'batch_0001.ndjson');
  await writeFile(path, lines.join('\n'));
  return path;
}

test("each test's last line wins; setup and teardown go to onPhaseResult, other lines to onNotResult", async () => {
  const path = await journal([
    JSON.stringify({ id: 'A', status: 'failed' }),
    JSON.stringify({ id: 'login', status: 'passed', phase: 'setup', response: { status: 200 } }),
    JSON.stringify({ id: 'B', status: 'passed' }),
    JSON.stringify({ note: 'not a result' }),
    JSON.stringify({ id: 'A', status: 'passed' }),
    JSON.stringify({ id: 'logout', status: 'error', phase: 'teardown' }),
    '{"id":"C","sta', // torn last line: not a result
  ]);
  const phases: string[] = [];
  const notResults: number[] = [];
  const last = await lastResults(path, (r) => r.status, {
    onPhaseResult: (r) => phases.push(`${r.id} ${r.status}`),
    onNotResult: (line) => notResults.push(line),
  });
  assert.deepEqual(
    [...last],
    [
      ['A', 'passed'],
      ['B', 'passed'],
    ],
  );
  assert.deepEqual(phases, ['login passed', 'logout error']);
  assert.deepEqual(notResults, [4]);
});

/**
 * What lastResults says of a journal, next to the same fold over readNdjson of a read
 * stream (the reader of journals past 1 MiB): lines, torn tail, bad lines and errors alike.
 */
async function bothWays(bytes: Buffer | string, skipBad: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'capi-last-results-'));
  dirs.push(dir);
  const path = join(dir, 'batch_0001.ndjson');
  await writeFile(path, bytes);
  const run = async (read: (o: object) => AsyncIterable<{ value: unknown; line: number }> | null) => {
    const seen: string[] = [];
    const o = {
      onTornTail: (line: number, text: string) => seen.push(`torn ${line} ${text}`),
      ...(skipBad && { onBadLine: (e: Error, text: string) => seen.push(`bad ${e.message} ${text}`) }),
      onNotResult: (line: number) => seen.push(`not ${line}`),
      onPhaseResult: (r: JournalResult) => seen.push(`phase ${r.id} ${r.status}`),
    };
    try {
      const lines = read(o);
      if (!lines) return { last: [...(await lastResults(path, (r) => `${r.status} ${String(r.fp)}`, o))], seen };
      const last = new Map<string, string>();
      for await (const { value, line } of lines) {
        const r = value as Partial<JournalResult> | null;
        if (typeof r?.id !== 'string' || typeof r.status !== 'string') o.onNotResult(line);
        else if (r.phase === 'setup' || r.phase === 'teardown') o.onPhaseResult(r as JournalResult);
        else last.set(r.id, `${r.status} ${String(r.fp)}`);
      }
      return { last: [...last], seen };
    } catch (err) {
      return { error: (err as Error).message, seen };
    }
  };
  const small = await run(() => null);
  const streamed = await run((o) =>
    readNdjson(createReadStream(path, { highWaterMark: 7 }), { source: path, ...o } as never),
  );
  return { small, streamed };
}

test('a small journal read whole says what the streamed read says: CRLF, blanks, bad and torn lines, odd bytes', async () => {
  const r = (id: string, status: string, more = {}) => JSON.stringify({ id, status, ...more });
  const cases: Array<Buffer | string> = [
    '',
    '\n\n',
    `${r('A', 'passed')}\n${r('B', 'failed')}\r\n\n  \n${r('A', 'error')}\n`,
    `${r('A', 'passed')}\n{"id":"B","sta`,
    `${r('A', 'passed')}\n${r('B', 'passed')}`,
    `${r('A', 'passed')}\nnot json\n${r('B', 'passed')}\n`,
    `${r('s', 'passed', { phase: 'setup' })}\n${r('A', 'passed')}\n${r('t', 'failed', { phase: 'teardown' })}\n[1]\nnull\n{"id":1,"status":"passed"}\n`,
    `${r('é', 'passed', { fp: 'ü' })}\n${r('B', 'passed')}\n`,
    Buffer.concat([
      Buffer.from(`${r('A', 'passed')}\n{"id":"B","status":"passed","fp":"`),
      Buffer.from([0xff, 0xe2, 0x82]),
      Buffer.from('"}\n'),
    ]),
    Buffer.concat([Buffer.from(`${r('A', 'passed')}\n{"id":"B","status":"pa`), Buffer.from([0xe2, 0x82])]),
    `${r('A', 'passed')}\n${'x'.repeat(70)}\n`,
  ];
  for (const [k, bytes] of cases.entries())
    for (const skipBad of [false, true]) {
      const { small, streamed } = await bothWays(bytes, skipBad);
      assert.deepEqual(small, streamed, `case ${k}, ${skipBad ? 'bad lines skipped' : 'bad lines refused'}`);
    }
});

test('eachNdjsonLine keeps the line cap of readNdjson, on whole lines and on the unfinished rest', async () => {
  const outcome = async (read: () => Promise<unknown[]>) => read().catch((err: Error) => err.message);
  for (const text of ['{"a":1}\n{"b":"0123456789abcdefghij"}\n', '{"a":1}\n{"b":"0123456789abcdefghij"', '{"a":1}\n']) {
    const o = { source: 'j', maxLineLength: 20, onTornTail: () => {} };
    const small = await outcome(async () => {
      const got: unknown[] = [];
      eachNdjsonLine(text, o, (l) => got.push(l));
      return got;
    });
    const streamed = await outcome(async () => {
      const got: unknown[] = [];
      for await (const l of readNdjson(
        (async function* () {
          yield text;
        })(),
        o,
      ))
        got.push(l);
      return got;
    });
    assert.deepEqual(small, streamed, text);
  }
});

test('a journal that does not exist reads as empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-last-results-'));
  dirs.push(dir);
  assert.equal((await lastResults(join(dir, 'none.ndjson'), (r) => r.id)).size, 0);
});

test('createTeardownTally: the last result of each teardown row per output; other phases ignored', () => {
  const t = createTeardownTally();
  t.add({ id: 'bye', status: 'failed', phase: 'teardown' }, 'batch_0001');
  t.add({ id: 'bye', status: 'passed', phase: 'teardown' }, 'batch_0002');
  t.add({ id: 'login', status: 'error', phase: 'setup' }, 'batch_0001');
  t.add({ id: 'T1', status: 'failed' }, 'batch_0001');
  assert.equal(t.failed, 1, 'batch_0001 failed its teardown; batch_0002 did not');
  t.add({ id: 'bye', status: 'passed', phase: 'teardown' }, 'batch_0001');
  assert.equal(t.failed, 0, 'a resume whose teardown passed replaces the failed one');
  t.add({ id: 'bye', status: 'error', phase: 'teardown' }, 'batch_0002');
  t.add({ id: 'bye', status: 'error', phase: 'teardown' }, 'batch_0002');
  assert.equal(t.failed, 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '@capi/core';
import { scanDuration, scanLine } from './fast-line.js';
import { addExpected, createMergeState, type MergeState } from './merge-state.js';
import { readResultBytes, readResults } from './read-results.js';
import type { TableOptions } from './test-table.js';

/**
 * Every line fast-line.ts takes must give what JSON.parse, validateResultRecord and
 * addResult give: the same rows, columns, counts and report text, the same errors. The
 * bytes go once through readResultBytes (which scans capi-exec's shape) and once through
 * readResults (the text reader, which never does), and everything the reports read is
 * compared.
 */

const BASE = {
  id: 'T0000001',
  name: 'get item 1',
  status: 'passed',
  attempts: 1,
  startedAt: '2026-01-01T10:30:00.003Z',
  durationMs: 12.3,
  response: { status: 200, bytes: 101 },
  failures: [],
  error: null,
  batch: 'batch_0001',
  worker: 0,
  runId: 'capi_test_20260101_103000',
  tags: ['catalogue', 'smoke'],
  shard: null,
};

const line = (over: Record<string, unknown> = {}, drop: string[] = []): string => {
  const r: Record<string, unknown> = { ...BASE, ...over };
  for (const k of drop) delete r[k];
  return JSON.stringify(r);
};

interface Snapshot {
  rows: unknown[];
  recordsRead: number;
  superseded: number;
}

function snapshot(s: MergeState): Snapshot {
  const t = s.tests;
  const rows: unknown[] = [];
  for (let i = 0; i < t.size; i++)
    rows.push({
      record: t.recordText(i),
      csv: t.csv ? t.csvText(i) : null,
      view: t.view(i),
      flags: t.flags[i],
      status: t.status[i],
      start: t.start[i],
      duration: t.duration[i],
      attempts: t.attempts[i],
      records: t.records[i],
      batch: t.batchPool.values[t.batch[i] as number],
      tags: t.tagPool.values[t.tags[i] as number],
    });
  return { rows, recordsRead: s.recordsRead, superseded: s.superseded };
}

type Outcome = Snapshot | { error: string };

/** Reads bytes into a fresh state (a suite first, when given), `step` bytes per read. */
async function readBoth(bytes: Buffer, opts: TableOptions, step: number, suite: boolean): Promise<[Outcome, Outcome]> {
  const run = async (fast: boolean): Promise<Outcome> => {
    const state = createMergeState(opts);
    if (suite) {
      addExpected(state, { id: 'T0000001', name: 'suite name', tags: ['suite'], batch: 'b9', flow: 'f1' });
      addExpected(state, { id: 'S2', batch: null });
    }
    try {
      if (fast) {
        let at = 0;
        await readResultBytes(
          state,
          (buf, off, len) => {
            const n = Math.min(len, step, bytes.length - at);
            bytes.copy(buf, off, at, at + n);
            at += n;
            return n;
          },
          'r.ndjson',
        );
      } else {
        await readResults(
          state,
          (async function* () {
            yield bytes;
          })(),
          'r.ndjson',
        );
      }
      return snapshot(state);
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      state.tests.close();
    }
  };
  return [await run(true), await run(false)];
}

/** Reads text both ways, with the CSV and the summary only's short rows, with a suite and without; full: also without CSV, with the spool in a file past 2 KB, and in 7-byte reads. */
async function same(text: string | Buffer, what: string, full = true): Promise<void> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  for (const opts of full
    ? [{ csv: true }, {}, { short: true }, { csv: true, spoolInMemory: 2048 }]
    : [{ csv: true }, { short: true }])
    for (const suite of [false, true])
      for (const step of full ? [1 << 20, 7] : [1 << 20]) {
        const [fast, plain] = await readBoth(bytes, opts, step, suite);
        assert.deepEqual(fast, plain, `${what} (${JSON.stringify(opts)}, suite ${suite}, ${step} bytes a read)`);
      }
}

const fail = (check: string, expected: string, actual: string) => ({ check, expected, actual });
const failed = (failures: unknown, over: Record<string, unknown> = {}) =>
  line({ status: 'failed', response: { status: 500, bytes: 12 }, failures, ...over });
const errored = (error: unknown, over: Record<string, unknown> = {}) =>
  line({ status: 'error', response: null, error, ...over });
const LONG = 'x'.repeat(600);

/** Failed and errored lines: capi-exec's shapes with odd values, and shapes near them. */
const FAILED_LINES: Array<[string, string]> = [
  ['failed status check', failed([fail('status', '2xx', '500')])],
  ['failed, body with escapes', failed([fail('status', '200', '500, body: {"error":"bad \\ x"}…')])],
  ['failed, two checks', failed([fail('status', '200', '404'), fail('json:$.id', 'exists', 'no such path')])],
  ['failed, 16 checks', failed(Array.from({ length: 16 }, (_, k) => fail(`c${k}`, 'e', 'a')))],
  ['failed, 17 checks', failed(Array.from({ length: 17 }, (_, k) => fail(`c${k}`, 'e', 'a')))],
  ['failed, non-ASCII actual', failed([fail('body', 'tëst', '✓ 𝄞 ünïcode')])],
  ['failed, a long actual (cut at 1000)', failed([fail('body', LONG, LONG)])],
  ['failed, empty strings', failed([fail('', '', '')])],
  ['failed, control characters', failed([fail('header', 'a\tb', 'line1\nline2\r\u001b[31mred\u0000')])],
  ['failed, DEL and C1', failed([fail('x', 'a\u007fb', 'c\u009bd')])],
  ['failed, bidi control', failed([fail('x', 'y', 'a\u202eb')])],
  ['failed, formula-like actual', failed([fail('=cmd', '+1', '-2,3')])],
  ['failed, quotes and commas', failed([fail('a"b', 'c,d', '"e"')])],
  ['failed, U+2028 raw', failed([fail('x', 'y', 'a\u2028b')])],
  ['failed, a lone surrogate', failed([fail('x', 'y', 'a\ud800b')])],
  ['failed, \\u escape of a letter', failed([fail('x', 'y', 'z')]).replace('"actual":"z"', '"actual":"\\u007a"')],
  ['failed, upper-case \\u escape', failed([fail('x', 'y', '\u001b')]).replace('\\u001b', '\\u001B')],
  ['failed, \\u escape of a tab', failed([fail('x', 'y', 'z')]).replace('"actual":"z"', '"actual":"\\u0009"')],
  ['failed, escaped slash', failed([fail('x', 'y', 'z')]).replace('"actual":"z"', '"actual":"a\\/b"')],
  ['failed, expected a number', failed([{ check: 'x', expected: 200, actual: '404' }])],
  ['failed, actual null', failed([{ check: 'x', expected: '200', actual: null }])],
  ['failed, no actual', failed([{ check: 'x', expected: '200' }])],
  ['failed, an extra key', failed([{ ...fail('x', 'y', 'z'), note: 'n' }])],
  ['failed, keys reordered', failed([{ actual: 'z', check: 'x', expected: 'y' }])],
  ['failed, a duplicate key', failed([fail('x', 'y', 'z')]).replace('"check":"x"', '"check":"w","check":"x"')],
  ['failed, a failure null', failed([null])],
  ['failed, a failure a string', failed(['status'])],
  ['failed, a trailing comma', failed([fail('x', 'y', 'z')]).replace('"z"}]', '"z"},]')],
  ['failed, a space', failed([fail('x', 'y', 'z')]).replace('"z"}]', '"z"} ]')],
  ['failed, with an error too', failed([fail('x', 'y', 'z')], { error: { code: 'E', message: 'm' } })],
  ['failed, with fp', `${failed([fail('x', 'y', 'z')]).slice(0, -1)},"fp":"ab"}`],
  ['failed, null response', failed([fail('x', 'y', 'z')], { response: null })],
  ['failed, attempts 2', failed([fail('x', 'y', 'z')], { attempts: 2 })],
  ['error timeout', errored({ code: 'ETIMEDOUT', message: 'request timed out after 30000 ms' })],
  [
    'error with a response',
    errored({ code: 'HTTP_503', message: '503 persisted' }, { response: { status: 503, bytes: 0 } }),
  ],
  ['error message with escapes', errored({ code: 'ECONNRESET', message: 'read "x" \\ y\n\tz' })],
  ['error message non-ASCII', errored({ code: 'EDNS', message: 'hôte introuvable ✗' })],
  ['error message long', errored({ code: 'E', message: LONG + LONG })],
  ['error message formula-like', errored({ code: '=E', message: '@x,y' })],
  ['error message empty', errored({ code: '', message: '' })],
  ['error code with an escape', errored({ code: 'E"1', message: 'm' })],
  ['error TEMPLATE, never sent', errored({ code: 'TEMPLATE', message: 'no var x' }, { attempts: 0, durationMs: 0 })],
  ['error BAD_URL, attempts 1, 0 ms', errored({ code: 'BAD_URL', message: 'bad' }, { durationMs: 0 })],
  ['error BAD_URL, attempts 1, 1 ms', errored({ code: 'BAD_URL', message: 'bad' }, { durationMs: 1 })],
  [
    'error BAD_URL with a response, 0 ms',
    errored({ code: 'BAD_URL', message: 'b' }, { durationMs: 0, response: { status: 200, bytes: 1 } }),
  ],
  [
    'error FLOW_STOPPED',
    errored({ code: 'FLOW_STOPPED', message: 'not sent: row T3 of flow f failed' }, { attempts: 0, durationMs: 0 }),
  ],
  ['error FLOW_STOPPED on a failed line', failed([], { error: { code: 'FLOW_STOPPED', message: 'm' } })],
  [
    'error SETUP_FAILED',
    errored({ code: 'SETUP_FAILED', message: 'not sent: setup row login failed' }, { attempts: 0, durationMs: 0 }),
  ],
  ['error code a number', errored({ code: 28, message: 'm' })],
  ['error message null', errored({ code: 'E', message: null })],
  ['error without message', errored({ code: 'E' })],
  ['error an extra key', errored({ code: 'E', message: 'm', errno: -110 })],
  ['error keys reordered', errored({ message: 'm', code: 'E' })],
  ['error empty object', errored({})],
  [
    'error, failures an empty list written with a space',
    errored({ code: 'E', message: 'm' }).replace('"failures":[]', '"failures":[ ]'),
  ],
  ['error null on an error line', line({ status: 'error', response: null })],
  ['passed with an error object', line({ error: { code: 'E', message: 'm' } })],
  ['skipped with failures', line({ status: 'skipped', failures: [fail('x', 'y', 'z')] })],
];

// Odd lines: each alone (after a common one), and all of them in one file.
const ODD: Array<[string, string]> = [
  ['common', line()],
  ['with fp', `${line().slice(0, -1)},"fp":"ab12"}`],
  ['fp with an escape', `${line().slice(0, -1)},"fp":"a\\u0062"}`],
  ['id with an escape', line({ id: 'T"1' })],
  ['name with a backslash escape', line({ name: 'a\\b' })],
  ['name with \\u escape text', `{"id":"T1","name":"\\u0041B",${line().slice(line().indexOf('"status"'))}`],
  ['non-ASCII name', line({ name: 'tëst ✓ 𝄞' })],
  ['DEL in the name', line({ name: 'a\u007fb' })],
  ['a raw control character', line().replace('get item', 'get\u0001item')],
  ['C1 control in the name', line({ name: 'a\u009bb' })],
  ['bidi control in the id', line({ id: 'T\u202e1' })],
  ['empty name', line({ name: '' })],
  ['name equal to id', line({ name: 'T0000001' })],
  ['empty id', line({ id: '' })],
  ['formula-like id and name', line({ id: '=cmd|x', name: '+1,2' })],
  ['id -x name @a', line({ id: '-x', name: '@a' })],
  ['comma in name', line({ name: 'a,b, c' })],
  ['extra key host', line({ host: 'h1' })],
  ['extra key flow', line({ flow: 'login' })],
  ['phase', line({ phase: 'setup' })],
  ['flowRun', line({ flowRun: 2 })],
  ['unknown key', `${line().slice(0, -1)},"debug":{"a":1}}`],
  ['reordered keys', JSON.stringify(Object.fromEntries(Object.entries(BASE).reverse()))],
  [
    'status before id',
    line().replace('{"id":"T0000001","name":"get item 1",', '{"name":"get item 1","id":"T0000001",'),
  ],
  ['duplicate status key', line().replace('"status":"passed"', '"status":"failed","status":"passed"')],
  ['duplicate id at the end', `${line().slice(0, -1)},"id":"T9"}`],
  ['whitespace between tokens', line().replace('"status":"passed"', '"status": "passed"')],
  ['leading space', ` ${line()}`],
  ['trailing space', `${line()} `],
  ['status unknown', line({ status: 'weird' })],
  ['status skipped', line({ status: 'skipped' })],
  ['status failed, no failures', line({ status: 'failed' })],
  ['status error', line({ status: 'error', error: { code: 'ETIMEDOUT', message: 'm' }, response: null })],
  ['failures listed', line({ status: 'failed', failures: [{ check: 'status', expected: '2xx', actual: '500' }] })],
  ...FAILED_LINES,
  ['attempts 0, no response', line({ attempts: 0, response: null })],
  ['attempts 0 with response', line({ attempts: 0 })],
  ['attempts 3', line({ attempts: 3 })],
  ['attempts 1.0', line().replace('"attempts":1', '"attempts":1.0')],
  ['attempts 1e0', line().replace('"attempts":1', '"attempts":1e0')],
  ['attempts 01', line().replace('"attempts":1', '"attempts":01')],
  ['attempts -1', line({ attempts: -1 })],
  ['attempts 10 digits', line({ attempts: 1234567890 })],
  ['attempts as text', line({ attempts: '1' })],
  ['no attempts', line({}, ['attempts'])],
  ['duration 0', line({ durationMs: 0 })],
  ['duration 1e3', line().replace('"durationMs":12.3', '"durationMs":1e3')],
  ['duration 1E3', line().replace('"durationMs":12.3', '"durationMs":1E3')],
  ['duration 1.50', line().replace('"durationMs":12.3', '"durationMs":1.50')],
  ['duration 1.0', line().replace('"durationMs":12.3', '"durationMs":1.0')],
  ['duration 012', line().replace('"durationMs":12.3', '"durationMs":012')],
  ['duration -0', line().replace('"durationMs":12.3', '"durationMs":-0')],
  ['duration -1.5', line({ durationMs: -1.5 })],
  ['duration 1.', line().replace('"durationMs":12.3', '"durationMs":1.')],
  ['duration 0.000001', line({ durationMs: 0.000001 })],
  ['duration 0.0000001 as text', line().replace('"durationMs":12.3', '"durationMs":0.0000001')],
  ['duration 1e-7', line({ durationMs: 1e-7 })],
  ['duration 306.3333333333333', line({ durationMs: 919 / 3 })],
  ['duration 0.30000000000000004', line({ durationMs: 0.1 + 0.2 })],
  ['duration 0.1000000000000000055', line().replace('"durationMs":12.3', '"durationMs":0.1000000000000000055')],
  ['duration 17 digits not shortest', line().replace('"durationMs":12.3', '"durationMs":306.33333333333331')],
  ['duration 1.0005', line({ durationMs: 1.0005 })],
  ['duration 2.0005', line({ durationMs: 2.0005 })],
  ['duration 1.2345', line({ durationMs: 1.2345 })],
  ['duration 999999999999.999', line({ durationMs: 999999999999.999 })],
  ['duration 9999999999999.998', line({ durationMs: 9999999999999.998 })],
  ['duration 123456789012345678', line().replace('"durationMs":12.3', '"durationMs":123456789012345678')],
  ['duration 1e21 written out', line().replace('"durationMs":12.3', '"durationMs":1000000000000000000000')],
  ['duration null', line({ durationMs: null })],
  ['duration as text', line({ durationMs: '12' })],
  ['no duration', line({}, ['durationMs'])],
  ['start day 29 of a leap February', line({ startedAt: '2024-02-29T23:59:59.999Z' })],
  ['start day 29 of February, not a leap year', line({ startedAt: '2026-02-29T10:00:00.000Z' })],
  ['start 2000-02-29', line({ startedAt: '2000-02-29T00:00:00.000Z' })],
  ['start 1900-02-29', line({ startedAt: '1900-02-29T00:00:00.000Z' })],
  ['start day 31', line({ startedAt: '2026-12-31T10:00:00.000Z' })],
  ['start April 31', line({ startedAt: '2026-04-31T10:00:00.000Z' })],
  ['start day 30', line({ startedAt: '2026-06-30T10:00:00.000Z' })],
  ['start hour 24', line({ startedAt: '2026-01-01T24:00:00.000Z' })],
  ['start second 60', line({ startedAt: '2026-01-01T10:00:60.000Z' })],
  ['start month 13', line({ startedAt: '2026-13-01T10:00:00.000Z' })],
  ['start year 0000', line({ startedAt: '0000-01-01T00:00:00.000Z' })],
  ['start without ms', line({ startedAt: '2026-01-01T10:30:00Z' })],
  ['start with an offset', line({ startedAt: '2026-01-01T10:30:00.000+01:00' })],
  ['start lower-case z', line({ startedAt: '2026-01-01T10:30:00.000z' })],
  ['start empty', line({ startedAt: '' })],
  ['start null', line({ startedAt: null })],
  ['start not a date', line({ startedAt: 'yesterday' })],
  ['start with letters for digits', line({ startedAt: '2026-0a-01T10:30:00.000Z' })],
  ['response null', line({ response: null })],
  ['response without bytes', line({ response: { status: 200 } })],
  ['response keys reordered', line({ response: { bytes: 1, status: 200 } })],
  ['response status 0, bytes 0', line({ response: { status: 0, bytes: 0 } })],
  ['response status as text', line({ response: { status: '200', bytes: 1 } })],
  ['response status 10 digits', line({ response: { status: 2147483648, bytes: 1 } })],
  ['response bytes negative', line({ response: { status: 200, bytes: -1 } })],
  ['response decodedBytes', line({ response: { status: 200, bytes: 1, decodedBytes: 3 } })],
  ['failures null', line({ failures: null })],
  ['failures an object', line({ failures: {} })],
  ['error an array', line({ error: [] })],
  ['error a string', line({ error: 'x' })],
  ['batch null', line({ batch: null })],
  ['batch with an escape', line({ batch: 'b\\1' })],
  ['batch non-ASCII', line({ batch: 'lot é' })],
  ['batch formula-like', line({ batch: '=b,1' })],
  ['batch a number', line({ batch: 7 })],
  ['worker null', line({ worker: null })],
  ['worker -1', line({ worker: -1 })],
  ['worker 1.5', line({ worker: 1.5 })],
  ['worker 10 digits', line({ worker: 2147483648 })],
  ['worker 3', line({ worker: 3 })],
  ['runId null', line({ runId: null })],
  ['runId non-ASCII', line({ runId: 'ré' })],
  ['runId null and worker null', line({ runId: null, worker: null })],
  ['tags empty', line({ tags: [] })],
  ['tags one', line({ tags: ['a'] })],
  ['tags formula-like and with a comma', line({ tags: ['=a', 'b,c'] })],
  ['tags with an empty one', line({ tags: ['', 'x'] })],
  ['tags with a number', line({ tags: ['a', 1] })],
  ['tags with an escape', line({ tags: ['a"b'] })],
  ['tags trailing comma', line().replace('"smoke"]', '"smoke",]')],
  ['tags null', line({ tags: null })],
  ['no tags', line({}, ['tags'])],
  ['shard 1/2', line({ shard: '1/2' })],
  ['shard a number', line({ shard: 1 })],
  ['no shard', line({}, ['shard'])],
  ['no closing brace', line().slice(0, -1)],
  ['two records on one line', `${line()}${line()}`],
  ['a CR before the newline', `${line()}\r`],
  ['an array', '[1,2]'],
  ['a test record', '{"id":"T1","request":{"method":"GET","url":"/"}}'],
];

test('each odd line alone gives what JSON.parse and validateResultRecord give', async () => {
  for (const [what, text] of ODD) await same(`${line({ id: 'T0' })}\n${text}\n${line({ id: 'T2' })}\n`, what, false);
});

test('bad UTF-8 and a torn tail after lines of the shape', async () => {
  const good = Buffer.from(`${line()}\n`);
  await same(
    Buffer.concat([good, Buffer.from('{"id":"T1","name":"a\xff\xfeb","status":"passed"}\n', 'latin1'), good]),
    'latin1 bytes',
  );
  const bad = Buffer.from(line({ name: 'é' }));
  const cut = Buffer.concat([
    good,
    bad.subarray(0, bad.indexOf(0xc3) + 1),
    bad.subarray(bad.indexOf(0xc3) + 2),
    Buffer.from('\n'),
    good,
  ]);
  await same(cut, 'a multibyte character cut in two');
  await same(Buffer.concat([good, Buffer.from([0x7b, 0x22, 0xff, 0x0a]), good]), 'a stray byte');
  await same(`${line()}\n${line({ id: 'T9' })}`, 'a last line without a newline');
  // Bytes no well-formed UTF-8 has, inside a failed line's actual and an errored line's message.
  const odd: Array<[string, number[]]> = [
    ['a UTF-16 surrogate as UTF-8', [0xed, 0xa0, 0x80]],
    ['the last surrogate', [0xed, 0xbf, 0xbf]],
    ['an overlong 2-byte form', [0xc0, 0xaf]],
    ['an overlong 3-byte form', [0xe0, 0x80, 0xaf]],
    ['an overlong 4-byte form', [0xf0, 0x80, 0x80, 0xaf]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a lead byte F5', [0xf5, 0x80, 0x80, 0x80]],
    ['a lone continuation byte', [0x80]],
    ['a lead byte without its continuation', [0xe2, 0x9c, 0x22]],
  ];
  for (const [what, bytes] of odd)
    for (const text of [
      line({ status: 'failed', failures: [{ check: 'body', expected: 'x', actual: 'a@b' }] }),
      line({ status: 'error', response: null, error: { code: 'E', message: 'a@b' } }),
    ]) {
      const [head, tail] = text.split('@') as [string, string];
      const b = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(`${tail}\n`)]);
      assert.equal(scanLine(b, 0, b.length), -1, what);
      await same(Buffer.concat([good, b, good]), what);
    }
});

test('the same id again: later start wins, ties go to the later line, fields lent only where the row has them', async () => {
  const lines = [
    line(),
    line({ startedAt: '2026-01-01T10:29:00.000Z', status: 'failed' }),
    line({ startedAt: '2026-01-01T10:31:00.000Z', attempts: 2, runId: null }),
    line({ startedAt: '2026-01-01T10:31:00.000Z', status: 'failed', shard: '1/2' }),
    line({ startedAt: '2026-01-01T10:32:00.000Z', shard: null }),
    line({ startedAt: '2026-01-01T10:33:00.000Z', worker: null }),
    line({ startedAt: '2026-01-01T10:34:00.000Z', name: 'other name' }),
    line({ startedAt: '2026-01-01T10:35:00.000Z', batch: null, runId: null, worker: null }),
    line({ id: 'S2', runId: null, worker: null, batch: null }),
    line({ id: 'S2', startedAt: '2026-01-01T10:40:00.000Z', name: 'S2' }),
  ];
  await same(`${lines.join('\n')}\n`, 'supersession');
  // And every order of them.
  const rnd = createRandom(7);
  for (let round = 0; round < 20; round++) {
    const shuffled = [...lines].sort(() => rnd() - 0.5);
    await same(`${shuffled.join('\n')}\n`, `supersession, order ${round}`, false);
  }
});

test('random files mixing the shape and odd lines give the same tests', async () => {
  const rnd = createRandom(16);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const odd = ODD.map(([, text]) => text).filter((t) => {
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  });
  for (let round = 0; round < 12; round++) {
    const lines: string[] = [];
    for (let k = 0; k < 400; k++) {
      if (rnd() < 0.15) {
        lines.push(pick(odd).replace('"id":"T0000001"', `"id":"T${Math.floor(rnd() * 60)}"`));
        continue;
      }
      const day = 1 + Math.floor(rnd() * 31);
      const month = 1 + Math.floor(rnd() * 12);
      lines.push(
        line({
          id: `T${Math.floor(rnd() * 60)}`,
          name: pick(['n', 'get =x', 'a,b', `T${Math.floor(rnd() * 60)}`]),
          status: pick(['passed', 'passed', 'failed', 'error', 'skipped']),
          attempts: pick([0, 1, 1, 2]),
          startedAt: `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T10:${String(Math.floor(rnd() * 60)).padStart(2, '0')}:00.${String(Math.floor(rnd() * 1000)).padStart(3, '0')}Z`,
          durationMs: pick([
            0,
            Math.round(rnd() * 10000) / 10,
            rnd() * 1000,
            Math.round(rnd() * 1e6) / 1e3,
            1e-6 * Math.ceil(rnd() * 9),
          ]),
          response: pick([null, { status: 200, bytes: Math.floor(rnd() * 5000) }, { status: 503, bytes: 0 }]),
          batch: pick([null, 'batch_0001', 'batch_0002']),
          worker: pick([null, 0, 1]),
          runId: pick([null, 'run1', 'run2']),
          tags: pick([[], ['a'], ['a', 'b'], ['smoke']]),
          shard: pick([null, '1/2']),
          ...pick<Record<string, unknown>>([
            {},
            {},
            { failures: [fail('status', '2xx', pick(['500', '503, body: {"e":"x"}…', '=1,"2"']))] },
            { failures: [fail('a', 'b', 'c'), fail('d\n', 'é', '')] },
            {
              error: {
                code: pick(['ETIMEDOUT', 'BAD_URL', 'TEMPLATE', 'FLOW_STOPPED']),
                message: pick(['m', 'a\tb ✓']),
              },
            },
          ]),
        }),
      );
    }
    await same(`${lines.join('\n')}\n`, `random round ${round}`);
  }
});

test('the scanner takes capi-exec common lines and nothing with an escape', () => {
  const take = (text: string) => {
    const b = Buffer.from(`${text}\n`);
    return scanLine(b, 0, b.length) === b.length - 1;
  };
  assert.equal(take(line()), true);
  assert.equal(take(`${line().slice(0, -1)},"fp":"x"}`), true);
  assert.equal(take(line({ response: null, batch: null, worker: null, runId: null, tags: [] })), true);
  assert.equal(take(line({ name: 'a\\b' })), false);
  assert.equal(take(line({ name: 'é' })), false);
  assert.equal(take(line({ host: 'h' })), false);
  assert.equal(take(line({ durationMs: 1e-7 })), false);
});

test('the scanner takes capi-exec failed and errored lines, escapes and non-ASCII included, and nothing near them', () => {
  const take = (text: string) => {
    const b = Buffer.from(`${text}\n`);
    return scanLine(b, 0, b.length) === b.length - 1;
  };
  const taken = [
    'failed status check',
    'failed, body with escapes',
    'failed, 16 checks',
    'failed, non-ASCII actual',
    'failed, a long actual (cut at 1000)',
    'failed, control characters',
    'failed, DEL and C1',
    'failed, U+2028 raw',
    'error timeout',
    'error message with escapes',
    'error message non-ASCII',
    'error FLOW_STOPPED',
  ];
  const refused = [
    'failed, 17 checks',
    'failed, a lone surrogate',
    'failed, \\u escape of a letter',
    'failed, upper-case \\u escape',
    'failed, \\u escape of a tab',
    'failed, escaped slash',
    'failed, expected a number',
    'failed, actual null',
    'failed, no actual',
    'failed, an extra key',
    'failed, keys reordered',
    'failed, a duplicate key',
    'failed, a failure null',
    'failed, a trailing comma',
    'failed, a space',
    'error code a number',
    'error message null',
    'error without message',
    'error an extra key',
    'error keys reordered',
    'error empty object',
    'error, failures an empty list written with a space',
  ];
  const byName = new Map(FAILED_LINES);
  for (const what of taken) assert.equal(take(byName.get(what) as string), true, what);
  for (const what of refused) assert.equal(take(byName.get(what) as string), false, what);
  // Whatever JSON.stringify writes for a string of any characters but lone surrogates.
  const rnd = createRandom(11);
  const chars = ['a', ' ', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '✓', '𝄞', '\u2028', '\ufeff', ','];
  for (let k = 0; k < 2000; k++) {
    let text = '';
    for (let n = Math.floor(rnd() * 12); n > 0; n--) text += chars[Math.floor(rnd() * chars.length)];
    assert.equal(take(errored({ code: 'E', message: text })), true, JSON.stringify(text));
  }
});

test('failed and errored lines of random text read both ways give the same tests', async () => {
  const rnd = createRandom(5);
  const chars = [
    'a',
    'b',
    ' ',
    ',',
    '"',
    '\\',
    '\n',
    '\r',
    '\t',
    '\u0001',
    '\u001b',
    '\u007f',
    '\u009b',
    'é',
    '…',
    '𝄞',
    '\u202e',
    '=',
    '-',
    '@',
    '+',
    '0',
    '9',
  ];
  const text = () => {
    let t = '';
    for (let n = Math.floor(rnd() * 20); n > 0; n--) t += chars[Math.floor(rnd() * chars.length)];
    return t;
  };
  const lines: string[] = [];
  for (let k = 0; k < 600; k++) {
    const id = `T${Math.floor(rnd() * 80)}`;
    if (rnd() < 0.5) {
      const n = 1 + Math.floor(rnd() * 3);
      lines.push(
        failed(
          Array.from({ length: n }, () => fail(text(), text(), rnd() < 0.05 ? text().repeat(80) : text())),
          { id },
        ),
      );
    } else
      lines.push(
        errored({ code: rnd() < 0.2 ? 'BAD_URL' : text(), message: text() }, { id, durationMs: rnd() < 0.3 ? 0 : 5 }),
      );
  }
  await same(`${lines.join('\n')}\n`, 'random failed and errored lines');
});

test('a duration is read as JSON.parse reads it, and its CSV cell is String(Number(d.toFixed(3)))', () => {
  const rnd = createRandom(3);
  const values: number[] = [0, 1, 0.5, 0.0005, 0.0015, 1.0005, 2.0005, 1e-6, 0.1 + 0.2, 999999999999.999, 2 ** 53];
  for (let k = 0; k < 200_000; k++) {
    const scale = 10 ** (Math.floor(rnd() * 20) - 7);
    values.push(rnd() * scale, Math.round(rnd() * scale * 10) / 10, Math.floor(rnd() * 1e6) / 3);
    // next to a rounding boundary of the third decimal, a few steps of the last bit either way
    const b = (Math.floor(rnd() * 1e6) + 0.5) / 1000;
    const f = new Float64Array([b]);
    const bits = new BigInt64Array(f.buffer);
    bits[0] = (bits[0] as bigint) + BigInt(Math.floor(rnd() * 7) - 3);
    values.push(f[0] as number);
  }
  let taken = 0;
  for (const v of values) {
    const text = JSON.stringify(v);
    const got = scanDuration(text);
    if (got === null) continue;
    taken++;
    assert.ok(Object.is(got.value, JSON.parse(text)), text);
    assert.equal(got.csv, String(Number(v.toFixed(3))), text);
  }
  assert.ok(taken > values.length * 0.7, `${taken} of ${values.length} taken`);
  for (const text of ['1.50', '1.0', '01', '-1', '1e3', '1E3', '1.', '.5', '0.0000001', '306.33333333333331', '1e21'])
    assert.equal(scanDuration(text), null, text);
});

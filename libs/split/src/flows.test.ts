import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BatchIndexEntry, parseShard, type TestRecord } from '@capi/core';
import type { SplitOptions } from './options.js';
import { splitSuite } from './split-suite.js';
import { writeBatches } from './write-batches.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'capi-split-flows-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function split(text: string, options: Partial<SplitOptions> = {}): Promise<TestRecord[]> {
  const out: TestRecord[] = [];
  for await (const record of splitSuite([Buffer.from(text)], { source: 's.csv', ...options })) out.push(record);
  return out;
}

const HEADER = 'id,phase,flow,method,url,capture\n';
const LOGIN = 'login,setup,,POST,/auth/token,token=json:$.access_token;ttl=json:$.expires_in\n';
const LOGOUT = 'bye,teardown,,GET,/bye?t={{token}},\n';

/** `flows` flows of `rows` rows each: create captures the id, the others use it. */
function flowSuite(flows: number, rows: number, { setup = true, teardown = true } = {}): string {
  let text = HEADER + (setup ? LOGIN : '');
  for (let f = 1; f <= flows; f++) {
    text += `F${f}-1,,flow-${f},POST,/items?t={{token}},item=json:$.id\n`;
    for (let r = 2; r <= rows; r++) text += `F${f}-${r},,flow-${f},GET,/items/{{item}},\n`;
  }
  return text + (teardown ? LOGOUT : '');
}

const flowOf = (id: string) => id.split('-')[0];

test('capture, flow and phase become record fields; rows without them stay as they were', async () => {
  const [login, create, read, bye] = await split(flowSuite(1, 2));
  assert.deepEqual(login?.capture, [
    { name: 'token', source: 'json:$.access_token' },
    { name: 'ttl', source: 'json:$.expires_in' },
  ]);
  assert.equal(login?.phase, 'setup');
  assert.equal('flow' in (login as object), false);
  assert.equal(create?.flow, 'flow-1');
  assert.equal('phase' in (create as object), false);
  assert.equal('capture' in (read as object), false);
  assert.equal(bye?.phase, 'teardown');
  const [plain] = await split('id,url\nT1,/a\n');
  assert.deepEqual(Object.keys(plain as object).sort(), [
    'enabled',
    'expect',
    'id',
    'name',
    'request',
    'seq',
    'source',
    'tags',
    'timeoutMs',
    'vars',
  ]);
});

test('every capture source kind is read; a body regex may hold a ;', async () => {
  const [r] = await split(
    'id,url,capture\nT1,/a,"a=json:$.x[0][\'y z\'];b=header:X-Id;c=status;d=body:/n=(\\d+);/i"\n',
  );
  assert.deepEqual(r?.capture, [
    { name: 'a', source: "json:$.x[0]['y z']" },
    { name: 'b', source: 'header:X-Id' },
    { name: 'c', source: 'status' },
    { name: 'd', source: 'body:/n=(\\d+);/i' },
  ]);
});

test('bad capture, flow and phase cells are exit 2 naming file, line and field', async () => {
  const bad: Array<[string, RegExp]> = [
    ['T1,/a,x=xml:/a,,', /^s\.csv:2: field "capture": capture "x": unknown capture source "xml:\/a"/],
    ['T1,/a,1x=status,,', /^s\.csv:2: field "capture": capture name "1x" must be letters, digits and _/],
    ['T1,/a,x=json:.a,,', /^s\.csv:2: field "capture": capture "x": JSON path ".a" must start with \$/],
    ['T1,/a,x=body:/(/,,', /^s\.csv:2: field "capture": capture "x": bad regular expression/],
    ['T1,/a,x,,', /^s\.csv:2: field "capture": expected name=source/],
    ['T1,/a,x=status;x=status,,', /^s\.csv:2: field "capture": capture name "x" given twice/],
    ['T1,/a,__proto__=status,,', /^s\.csv:2: field "capture": capture name "__proto__" is not allowed/],
    ['T1,/a,a=status;constructor=json:$.x,,', /^s\.csv:2: field "capture": capture name "constructor" is not allowed/],
    ['T1,/a,prototype=header:X-P,,', /^s\.csv:2: field "capture": capture name "prototype" is not allowed/],
    ['T1,/a,,,later', /^s\.csv:2: field "phase": unknown phase "later" \(expected setup, test or teardown\)/],
    ['T1,/a,,f1,setup', /^s\.csv:2: field "flow": a setup row belongs to no flow/],
  ];
  for (const [row, message] of bad) {
    await assert.rejects(split(`id,url,capture,flow,phase\n${row}\n`), (err: Error) => {
      assert.match(err.message, message);
      assert.equal((err as { exitCode?: number }).exitCode, 2);
      return true;
    });
  }
  const [setup] = await split('id,url,capture,flow,phase\nT1,/a,,,SETUP\nT2,/b,,,test\n');
  assert.equal(setup?.phase, 'setup');
});

test('templates may use captures of setup rows and earlier rows of their own flow only', async () => {
  await split(flowSuite(3, 3));
  const cases: Array<[string, RegExp]> = [
    [`${HEADER}A,,f1,POST,/items,other=json:$.id\nB,,f2,GET,/items/{{item}},\n`, /names no column/],
    [`${HEADER}A,,f1,POST,/items,id=json:$.id\n`, /field "capture": capture name "id" is the test's own \{\{id\}\}/],
    [
      `${HEADER}A,,f1,POST,/items,item=json:$.id\nB,,f2,GET,/items/{{item}},\n`,
      /^s\.csv:3: field "url": template \{\{item\}\} is captured only in flow "f1", not in flow "f2": a flow's captures are its own/,
    ],
    [
      `${HEADER}A,,f1,POST,/items,item=json:$.id\nB,,,GET,/items/{{item}},\n`,
      /^s\.csv:3: field "url": template \{\{item\}\} is captured only in flow "f1", and this row is in no flow/,
    ],
    [`${HEADER}A,,f1,POST,/items/{{item}},item=json:$.id\n`, /uses this row's own capture/],
  ];
  for (const [text, message] of cases) await assert.rejects(split(text), { message });
  await assert.rejects(split(`${HEADER}A,,f1,GET,/items/{{item}},\nB,,f1,POST,/items,item=json:$.id\n`), {
    message:
      /^s\.csv:2: field "url": template \{\{item\}\} names no column, variable or namespace.*\(nor does a setup row or an earlier row of its flow capture it: a capture is usable only after the row that captures it\)/,
  });
});

test('a capture named like a column is refused; teardown rows see earlier teardown captures', async () => {
  await assert.rejects(split('id,url,capture,flow,item\nA,/a/{{item}},item=json:$.id,f1,1\n'), {
    message: /^s\.csv:2: field "capture": capture name "item" is also a column of the suite/,
  });
  const records = await split(
    `${HEADER}${LOGIN}T,,,GET,/a,\nb1,teardown,,POST,/out?t={{token}},n=status\nb2,teardown,,GET,/n/{{n}},\n`,
  );
  assert.deepEqual(
    records.map((r) => r.id),
    ['login', 'T', 'b1', 'b2'],
  );
  await assert.rejects(split(`${HEADER}${LOGIN}A,,f1,POST,/a,n=status\nb2,teardown,,GET,/n/{{n}},\n`), {
    message: /captured only in flow "f1", and this row is in no flow/,
  });
});

test('a setup row after a test, and a flow whose rows are apart, are refused', async () => {
  await assert.rejects(split(`${HEADER}T1,,,GET,/a,\n${LOGIN}`), {
    message: /^s\.csv:3: field "phase": a setup row after tests: setup rows come first/,
  });
  await assert.rejects(split(`${HEADER}A,,f1,GET,/a,\nB,,,GET,/b,\nC,,f1,GET,/c,\n`), {
    message:
      /^s\.csv:4: field "flow": flow "f1" continues after other rows: the rows of a flow must be together \(it began at line 2\)/,
  });
  // Many flows between (the table of flows seen grows many times), then the first comes back.
  const many = Array.from({ length: 20_000 }, (_, i) => `R${i},,flow-${i},GET,/r,\nS${i},,flow-${i},GET,/s,\n`).join(
    '',
  );
  const apart = split(`${HEADER}${many}Z,,flow-7,GET,/z,\n`);
  await assert.rejects(apart, {
    message: /^s\.csv:40002: field "flow": flow "flow-7" continues after other rows: .*\(it began at line 16\)/,
  });
  const together = await split(`${HEADER}${many}Z,,flow-19999,GET,/z,\n`);
  assert.equal(together.length, 40_001, 'the last flow goes on: not refused');
});

test('teardown rows go last with the last seq numbers, wherever the suite has them', async () => {
  const text = `${HEADER}${LOGIN}bye,teardown,,GET,/bye,\nT1,,,GET,/a,\nT2,,,GET,/b,\n`;
  const records = await split(text);
  assert.deepEqual(
    records.map((r) => [r.id, r.seq]),
    [
      ['login', 0],
      ['T1', 1],
      ['T2', 2],
      ['bye', 3],
    ],
  );
});

test('--shard keeps every flow whole (chosen by its name) and gives setup and teardown to every shard', async () => {
  const text = flowSuite(40, 4);
  const seen = new Map<string, number>();
  let tests = 0;
  for (let k = 1; k <= 3; k++) {
    const records = await split(text, { shard: parseShard(`${k}/3`) });
    assert.equal(records[0]?.id, 'login');
    assert.equal(records.at(-1)?.id, 'bye');
    const rows = records.filter((r) => r.phase === undefined);
    tests += rows.length;
    const perFlow = new Map<string, number>();
    for (const r of rows) perFlow.set(r.flow as string, (perFlow.get(r.flow as string) ?? 0) + 1);
    for (const [flow, n] of perFlow) {
      assert.equal(n, 4, `${flow} whole in shard ${k}`);
      assert.equal(seen.has(flow), false, `${flow} in one shard only`);
      seen.set(flow, k);
    }
  }
  assert.equal(tests, 160);
  assert.equal(seen.size, 40);
  assert.ok(new Set(seen.values()).size > 1, 'the flows are spread over the shards');
});

test('--start/--end, --tags and --grep take or leave a flow whole, as its first row decides', async () => {
  const text = flowSuite(4, 3);
  // data rows: 0 login, 1-3 flow-1, 4-6 flow-2, 7-9 flow-3, 10-12 flow-4, 13 bye
  const ranged = await split(text, { start: 5, end: 8 });
  assert.deepEqual(
    ranged.map((r) => r.id),
    ['login', 'F3-1', 'F3-2', 'F3-3', 'bye'],
  );
  const grepped = await split(text, { grep: /^F2-1$/ });
  assert.deepEqual(
    grepped.map((r) => r.id),
    ['login', 'F2-1', 'F2-2', 'F2-3', 'bye'],
  );
  const none = await split(text, { grep: /^F2-2$/ });
  assert.deepEqual(
    none.map((r) => r.id),
    ['login', 'bye'],
  );
});

test('batches hold whole flows (growing past the size and saying so) with setup first and teardown last', async () => {
  const dir = join(root, 'batches');
  const oversize: Array<[string, number, string]> = [];
  const index = await writeBatches(splitSuite([Buffer.from(flowSuite(7, 3))], { source: 's.csv' }), dir, 4, {
    onOversize: (e: BatchIndexEntry, flow) => oversize.push([e.batch, e.count, flow]),
  });
  assert.equal(index.total, 21);
  assert.equal(index.setup, 1);
  assert.equal(index.teardown, 1);
  assert.deepEqual(
    index.batches.map((b) => b.count),
    [6, 6, 6, 3],
  );
  assert.deepEqual(oversize, [
    ['batch_0001', 6, 'flow-2'],
    ['batch_0002', 6, 'flow-4'],
    ['batch_0003', 6, 'flow-6'],
  ]);
  const seen = new Set<string>();
  for (const b of index.batches) {
    const lines = (await readFile(join(dir, b.file), 'utf8')).trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as TestRecord);
    assert.equal(records[0]?.id, 'login');
    assert.equal(records.at(-1)?.id, 'bye');
    const flows = new Set(records.filter((r) => r.flow).map((r) => r.flow as string));
    for (const flow of flows) {
      assert.equal(seen.has(flow), false, `${flow} in one batch only`);
      seen.add(flow);
      assert.equal(records.filter((r) => r.flow === flow).length, 3);
    }
    assert.equal(b.firstId, records[1]?.id);
    assert.equal(b.lastId, records.at(-2)?.id);
  }
  assert.equal(seen.size, 7);
  assert.ok([...seen].every((f) => flowOf(f) === 'flow'));
});

test('rows without flows still cut batches at exactly the size', async () => {
  const text = `id,url\n${Array.from({ length: 9 }, (_, i) => `T${i},/a`).join('\n')}\n`;
  const index = await writeBatches(splitSuite([Buffer.from(text)], { source: 's.csv' }), join(root, 'plain'), 4);
  assert.deepEqual(
    index.batches.map((b) => b.count),
    [4, 4, 1],
  );
  assert.equal('setup' in index, false);
});

test('NDJSON test records carry the flow fields through the same checks', async () => {
  const records = await split(flowSuite(2, 2));
  const ndjson = records.map((r) => JSON.stringify(r)).join('\n');
  const again = await split(ndjson, { source: 't.ndjson' });
  assert.deepEqual(
    again.map((r) => [r.id, r.flow, r.phase, r.capture?.length]),
    records.map((r) => [r.id, r.flow, r.phase, r.capture?.length]),
  );
  const bad = records.map((r) => JSON.stringify(r.id === 'F2-2' ? { ...r, flow: 'flow-1' } : r)).join('\n');
  await assert.rejects(split(bad, { source: 't.ndjson' }), {
    message: /^t\.ndjson:5: field "flow": flow "flow-1" continues after other rows/,
  });
  const badPhase = records.map((r) => JSON.stringify(r.id === 'F1-1' ? { ...r, phase: 'later' } : r)).join('\n');
  await assert.rejects(split(badPhase, { source: 't.ndjson' }), {
    message: /^t\.ndjson:2: field "phase": unknown phase "later"/,
  });
});

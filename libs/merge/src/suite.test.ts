import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMergeState } from './merge-state.js';
import { readResults } from './read-results.js';
import { readBatchFile, readSuite } from './suite.js';

async function ids(text: string | Buffer[], label = 'suite.txt') {
  const chunks = typeof text === 'string' ? [Buffer.from(text)] : text;
  const out: string[] = [];
  for await (const t of readSuite(
    (async function* () {
      yield* chunks;
    })(),
    label,
  ))
    out.push(`${t.id}:${t.enabled}`);
  return out;
}

test('the suite format comes from the content, not the file name', async () => {
  // CSV with a BOM and a header whose first cell is ID: CSV whatever the name says.
  assert.deepEqual(await ids('\uFEFFID,URL,Enabled\r\nA,/a,\r\nB,/b,no\r\n', 'suite.txt'), ['A:true', 'B:false']);
  // NDJSON test records, after blank lines and a BOM, in a file named .csv.
  const rec = (id: string) => JSON.stringify({ id, request: { method: 'GET', url: `/${id}` } });
  assert.deepEqual(await ids(`\uFEFF\n  \n${rec('N1')}\n${rec('N2')}\n`, 'suite.csv'), ['N1:true', 'N2:true']);
  // The BOM and the first brace split across chunks (a pipe hands out small pieces).
  const bytes = Buffer.from(`\uFEFF${rec('S1')}\n`);
  const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2, 4), bytes.subarray(4)];
  assert.deepEqual(await ids(pieces), ['S1:true']);
  // Nothing at all is refused, as capi-split refuses it (it was read as a suite of no ids).
  for (const empty of ['', ' \n\n', '\uFEFF'])
    await assert.rejects(
      ids(empty),
      /^Error: suite\.csv:1: empty file: expected a header row$|empty file: expected a header row/,
    );
});

test('a result file given as the suite is named as such', async () => {
  const line = `${JSON.stringify({ id: 'R1', status: 'passed' })}\n`;
  await assert.rejects(ids(line, 'results.ndjson'), (err: Error) => {
    assert.match(
      err.message,
      /^results\.ndjson:1: field "request": must be an object: this looks like a result record from capi-exec/,
    );
    return true;
  });
});

test('test records where results are expected: the message says they come from capi-split', async () => {
  const rec = {
    id: 'T1',
    seq: 0,
    request: { method: 'GET', url: '/x', headers: {}, body: null },
    expect: { status: '2xx' },
  };
  await assert.rejects(readResults(createMergeState(), [`${JSON.stringify(rec)}\n`], '<stdin>'), (err: Error) => {
    assert.match(
      err.message,
      /^<stdin>:1: this looks like a test record from capi-split \(request\/expect, no status\), not a result from capi-exec/,
    );
    return true;
  });
  // A result with a bad status keeps the field message.
  await assert.rejects(readResults(createMergeState(), ['{"id":"a","status":"great"}\n'], 'r'), /r:1: field "status"/);
});

test("a run folder's batch file: every record with its batch and line; blank lines, CRLF and a long file", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-merge-batch-'));
  try {
    const rec = (id: string, name?: string) =>
      JSON.stringify({ id, ...(name ? { name } : {}), request: { method: 'GET', url: `/${id}` } });
    // More than one 1 MB read, so that lines are cut across reads; a last line without a newline.
    const many = Array.from({ length: 9000 }, (_, k) => rec(`T${k}`, 'x'.repeat(100)));
    const path = join(dir, 'batch_0001.ndjson');
    await writeFile(path, `${rec('A', 'first')}\r\n\n  \n${many.join('\n')}\n${rec('Z')}`);
    const state = createMergeState();
    await readBatchFile(path, 'run/batches/batch_0001.ndjson', 'batch_0001', state);
    const seen = [...state.tests.values()].map((t) => `${t.id}:${t.name?.length}:${t.batch}`);
    assert.equal(seen.length, 9002);
    assert.equal(seen[0], 'A:5:batch_0001');
    assert.equal(seen[9000], 'T8999:100:batch_0001');
    assert.equal(seen[9001], 'Z:1:batch_0001');
    // A malformed line and a record that is no test record are named with their line.
    await writeFile(path, `${rec('A')}\n{"id":\n`);
    await assert.rejects(readBatchFile(path, 'b.ndjson', 'b', createMergeState()), (err: Error) =>
      /^b\.ndjson:2: malformed JSON: /.test(err.message),
    );
    await writeFile(path, `${rec('A')}\n\n${JSON.stringify({ id: 'R', status: 'passed' })}\n`);
    await assert.rejects(readBatchFile(path, 'b.ndjson', 'b', createMergeState()), (err: Error) =>
      /^b\.ndjson:3: field "request": must be an object: this looks like a result/.test(err.message),
    );
    await assert.rejects(readBatchFile(join(dir, 'none.ndjson'), 'n', 'n', createMergeState()), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function expected(text: string, label = 'suite.csv', autoId = false) {
  const out: unknown[] = [];
  for await (const t of readSuite(
    (async function* () {
      yield Buffer.from(text);
    })(),
    label,
    autoId,
  ))
    out.push([t.id, t.name, t.tags, t.enabled, t.flow, t.phase]);
  return out;
}

test('a suite CSV is read with the cell rules capi-split uses: tags, enabled, flow, phase, name', async () => {
  assert.deepEqual(
    await expected(
      'ID, Name ,url,TAGS,enabled,flow,phase\n' +
        'C,c,/c,,0,,Setup\n' +
        'A, spaced ,/a, smoke ; smoke;;slow ,YES,,\n' +
        'B,,/b,,Off, f1 ,\n' +
        'D,d,/d,,on,,test\n',
    ),
    [
      // the name as written, tags trimmed and each once, as capi-split's records have them
      ['C', 'c', [], false, null, 'setup'],
      ['A', ' spaced ', ['smoke', 'slow'], true, null, null],
      ['B', 'B', [], false, 'f1', null],
      ['D', 'd', [], true, null, null],
    ],
  );
});

test('a suite CSV that capi-split refuses is refused, naming the file, line and field', async () => {
  const refused = async (text: string, message: RegExp) =>
    assert.rejects(expected(text), (err: Error) => {
      assert.match(err.message, message);
      return true;
    });
  await refused('id,enabled\nA,yes\nB,maybe\n', /^suite\.csv:3: field "enabled": expected yes\/no/);
  await refused('id,phase\nA,\nB,warmup\n', /^suite\.csv:3: field "phase": unknown phase "warmup"/);
  await refused('id,flow,phase\nA,f,setup\n', /^suite\.csv:2: field "flow": a setup row belongs to no flow/);
  // a row of another length than the header (csv-parse's strict mode said so in its own words)
  await refused('id,name\nA,a\nB,b,extra\n', /^suite\.csv:3: row has 3 cells, the header has 2$/);
  await refused('id,name,ID\nA,a,b\n', /^suite\.csv:1: header: column "ID" named twice \(columns 1 and 3\)$/);
  // as capi-split: nothing in the file; a setup row after a test; a flow that comes back
  await refused('', /^suite\.csv:1: empty file: expected a header row$/);
  await refused('\n \n', /^suite\.csv:1: empty file: expected a header row$/);
  await refused(
    'id,phase\nA,\nS,setup\n',
    /^suite\.csv:3: field "phase": a setup row after tests: setup rows come first/,
  );
  await refused(
    'id,flow\nA,fa\nB,fb\nC,fa\n',
    /^suite\.csv:4: field "flow": flow "fa" continues after other rows: the rows of a flow must be together \(it began at line 2\)$/,
  );
  const rec = (id: string, flow?: string) =>
    `${JSON.stringify({ id, name: id, seq: 0, request: { method: 'GET', url: '/x' }, expect: {}, ...(flow ? { flow } : {}) })}\n`;
  await refused(
    rec('A', 'fa') + rec('B') + rec('C', 'fa'),
    /^suite\.csv:3: field "flow": flow "fa" continues after other rows: the rows of a flow must be together \(it began at line 1\)$/,
  );
  await refused('name\nA\n', /^suite\.csv:1: field "id": the suite has no id column \(with --auto-id its rows/);
  await refused('id,name\n ,a\n', /^suite\.csv:2: field "id": empty \(with --auto-id such a row is row-<line>/);
  // lines are counted through quoted line breaks and blank rows, as capi-split counts them
  await refused('id,name\n"A","two\nlines"\n\nB,"x"y\n', /^suite\.csv:5: malformed CSV: a quote inside an unquoted/);
  await refused('id,name\nA,"never closed\n', /^suite\.csv:2: unterminated quote/);
  const badByte = async () => {
    for await (const _ of readSuite(
      (async function* () {
        yield Buffer.from('id,name\nA,a\nB,');
        yield Buffer.from([0xff, 0x0a]);
      })(),
      'suite.csv',
    ));
  };
  await assert.rejects(badByte(), (err: Error) => {
    assert.match(err.message, /^suite\.csv:3: not UTF-8: invalid byte 0xff/);
    return true;
  });
});

test('--auto-id: a row without an id is row-<line>, its first line, as capi-split names it', async () => {
  const ids = async (text: string) => (await expected(text, 'suite.csv', true)).map((t) => (t as string[])[0]);
  // no id column; a quoted line break and a blank line move the later rows' lines
  assert.deepEqual(await ids('name,url\na,/a\n"b\nb",/b\n\nc,/c\n'), ['row-2', 'row-3', 'row-6']);
  // an id column with empty and blank cells: only those get one
  assert.deepEqual(await ids('id,name\nA,a\n,b\n  ,c\nD,d\n'), ['A', 'row-3', 'row-4', 'D']);
});

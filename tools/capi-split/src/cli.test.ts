import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchIndex, TestRecord } from '@capi/core';
import { binPath, killAll, parseLines, repoRoot, runTool, tempDir, testEnv } from '@capi/testkit';

const fixtures = join(repoRoot, 'tools', 'capi-split', 'fixtures');
const split = (args: string[], input?: string | Buffer) => runTool('capi-split', args, { cwd: fixtures, input });
const ids = (stdout: string) => (parseLines(stdout) as TestRecord[]).map((r) => r.id);

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-split-cli-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

test('a good suite becomes one test record per row on stdout', async () => {
  const r = await split(['good.csv']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const records = parseLines(r.stdout) as TestRecord[];
  assert.deepEqual(
    records.map((t) => [t.id, t.name, t.seq, t.request.method, t.enabled, t.source?.line]),
    [
      ['T1', 'get item 1', 0, 'GET', true, 2],
      ['T2', 'T2', 1, 'POST', true, 3],
      ['T3', 'create with lines', 2, 'PUT', false, 4],
      ['T4', 'quoted "name"', 3, 'DELETE', false, 6],
    ],
  );
  const [t1, t2, t3] = records as [TestRecord, TestRecord, TestRecord];
  assert.deepEqual(t1.expect, { status: '200', body: 'item-1', json: null, maxMs: 500 });
  assert.deepEqual(t2.request.headers, { 'Content-Type': 'application/json', 'X-Region': '{{region}}' });
  assert.equal(t2.request.body, '{"n":007}');
  assert.equal(t2.timeoutMs, 2000);
  assert.deepEqual(t3.request.headers, { Accept: 'text/plain', 'X-Token': '{{env.DEMO_TOKEN}}' });
  assert.deepEqual(t3.vars, { region: '007' }, 'cells stay strings as written');
  assert.deepEqual(t3.tags, ['auth', 'items']);
});

const badCases: Array<[string, string]> = [
  ['no-header.csv', 'no-header.csv:1: missing header row: the first row names none of the suite columns (id, url, …)'],
  [
    'bad-method.csv',
    'bad-method.csv:3: field "method": unknown method "GRT" (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE)',
  ],
  ['missing-url.csv', 'missing-url.csv:3: field "url": missing'],
  ['dup-id.csv', 'dup-id.csv:9: duplicate id "T7" (first at line 6)'],
  [
    'bad-headers-json.csv',
    `bad-headers-json.csv:3: field "headers": malformed JSON: Unexpected token 'o', "{"x": oops}" is not valid JSON`,
  ],
  [
    'bad-expect-json.csv',
    `bad-expect-json.csv:4: field "expect_json": malformed JSON: Unexpected token '}', "{"a": [1,}" is not valid JSON`,
  ],
  [
    'unterminated-quote.csv',
    'unterminated-quote.csv:3: unterminated quote: a quoted field that opens in this row is never closed',
  ],
  ['not-utf8.csv', 'not-utf8.csv:3: not UTF-8: invalid byte 0xe9 (save the file as UTF-8)'],
  ['empty.csv', 'empty.csv:1: empty file: expected a header row'],
  ['bad-max-ms.csv', 'bad-max-ms.csv:3: field "max_ms": must be a whole number of milliseconds (got "1.5")'],
  ['twice-column.csv', 'twice-column.csv:1: header: column "URL" named twice (columns 2 and 3)'],
  ['no-id.csv', 'no-id.csv:1: header: no "id" column (add one, or use --auto-id to number rows)'],
  [
    'typo-column.csv',
    'typo-column.csv:1: column "expected_status" is not a suite column; did you mean "expect_status"? (a variable needs another name)',
  ],
  [
    'bad-record.ndjson',
    'bad-record.ndjson:2: field "request.method": unknown method "FETCH" (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE)',
  ],
];

for (const [file, message] of badCases) {
  test(`bad input ${file}: one line naming file:line, exit 2, nothing on stdout, no files`, async () => {
    const r = await split([file]);
    assert.equal(r.stderr, `capi-split: ${message}\n`);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const out = join(tmp.path, `bad-${file}`);
    const withOut = await split([file, '--out', out, '--batch-size', '1']);
    assert.equal(withOut.code, 2);
    assert.equal(withOut.stderr, `capi-split: ${message}\n`);
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.includes(`bad-${file}`)),
      [],
      'no folder, no temp folder',
    );
  });
}

test('--batch-size --out writes batches and index.json, says so on stderr, nothing on stdout', async () => {
  const out = join(tmp.path, 'run1', 'batches');
  const r = await split(['good.csv', '--batch-size', '3', '--out', out]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `capi-split: wrote 2 batch files, 4 tests, and index.json to ${out}\n`);
  assert.deepEqual(await readdir(out), ['batch_0001.ndjson', 'batch_0002.ndjson', 'index.json']);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as BatchIndex;
  assert.deepEqual(
    index.batches.map((b) => [b.batch, b.firstSeq, b.lastSeq, b.firstId, b.lastId, b.count]),
    [
      ['batch_0001', 0, 2, 'T1', 'T3', 3],
      ['batch_0002', 3, 3, 'T4', 'T4', 1],
    ],
  );
  assert.deepEqual(ids(await readFile(join(out, 'batch_0002.ndjson'), 'utf8')), ['T4']);
  const again = await split(['good.csv', '--out', out]);
  assert.equal(again.code, 2);
  assert.equal(again.stderr, `capi-split: ${out}: folder is not empty (use --force to replace its batches)\n`);
  const forced = await split(['good.csv', '--out', out, '--force', '--batch-size', '10']);
  assert.equal(forced.code, 0);
  assert.equal(forced.stderr, `capi-split: wrote 1 batch file, 4 tests, and index.json to ${out}\n`);
  assert.deepEqual(await readdir(out), ['batch_0001.ndjson', 'index.json']);
  const one = await split(['good.csv', '--out', join(tmp.path, 'run1', 'one'), '--grep', '^T1$']);
  assert.equal(
    one.stderr,
    `capi-split: wrote 1 batch file, 1 test, and index.json to ${join(tmp.path, 'run1', 'one')}\n`,
  );
});

test('reads stdin with - or no file; names it <stdin>', async () => {
  const text = await readFile(join(fixtures, 'good.csv'));
  for (const args of [['-'], []]) {
    const r = await split(args, text);
    assert.equal(r.code, 0);
    assert.deepEqual(ids(r.stdout), ['T1', 'T2', 'T3', 'T4']);
    assert.equal((parseLines(r.stdout)[0] as TestRecord).source?.file, '<stdin>');
  }
  const bad = await split(['-'], 'id,url\nT1,\n');
  assert.equal(bad.stderr, 'capi-split: <stdin>:2: field "url": missing\n');
});

test('NDJSON test records are passed on, validated and normalized; the output reads back the same', async () => {
  const r = await split(['tests.ndjson']);
  assert.equal(r.code, 0);
  const records = parseLines(r.stdout) as TestRecord[];
  assert.deepEqual(
    records.map((t) => [t.id, t.seq, t.request.headers, t.source?.line]),
    [
      ['N1', 0, {}, 1],
      ['N2', 1, {}, 3],
    ],
  );
  const good = await split(['good.csv']);
  const round = await split(['--format', 'ndjson', '-'], good.stdout);
  assert.equal(round.code, 0);
  assert.equal(round.stdout, good.stdout);
});

test('NDJSON records are refused for the values CSV cells are refused for; a lower-case method is fine', async () => {
  const record = (extra: object) => `${JSON.stringify({ id: 'a', request: { method: 'GET', url: '/x' }, ...extra })}\n`;
  const cases: Array<[object, string]> = [
    [
      { expect: { status: '2xy' } },
      'field "expect.status": expected a code like 200, a class like 2xx, or a list (got "2xy")',
    ],
    [{ expect: { body: '/[/' } }, 'field "expect.body": bad regular expression: Invalid regular expression: /[/'],
    [{ expect: { json: '{bad' } }, 'field "expect.json": malformed JSON: '],
    [{ expect: { maxMs: 1.5 } }, 'field "expect.maxMs": must be a whole number of milliseconds (got 1.5)'],
    [{ timeoutMs: -5 }, 'field "timeoutMs": must be a whole number of milliseconds (got -5)'],
  ];
  for (const [extra, message] of cases) {
    const r = await split(['-'], record(extra));
    // The text after the message (V8's own words for a bad regex or JSON) varies by Node version.
    assert.ok(r.stderr.startsWith(`capi-split: <stdin>:1: ${message}`), r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
  }
  const lower = await split(['-'], '{"id":"a","request":{"method":"get","url":"/x"}}\n');
  assert.equal(lower.code, 0);
  assert.equal((parseLines(lower.stdout)[0] as TestRecord).request.method, 'GET');
});

test('BOM, CRLF and quoted newlines just work, with the right line numbers', async () => {
  const r = await split(['bom-crlf.csv', '--vars-columns', 'note']);
  assert.equal(r.code, 0);
  const records = parseLines(r.stdout) as TestRecord[];
  assert.deepEqual(
    records.map((t) => [t.id, t.source?.line, t.vars.note]),
    [
      ['B1', 2, 'two\r\nlines'],
      ['B2', 5, 'plain'],
      ['B3', 6, 'x'],
    ],
  );
  const upper = await split(['upper-header.csv', '--vars-columns', 'REGION']);
  assert.deepEqual(
    (parseLines(upper.stdout) as TestRecord[]).map((t) => [t.id, t.request.url, t.vars.Region]),
    [
      ['A1', '/a', 'eu'],
      ['A2', '/b', 'us'],
    ],
  );
});

test('--auto-id numbers rows by line', async () => {
  const r = await split(['--auto-id', 'no-id.csv', '--vars-columns', 'region']);
  assert.deepEqual(ids(r.stdout), ['row-2', 'row-3', 'row-5']);
});

test('--lenient skips bad rows with one warning each and a count', async () => {
  const r = await split(['--lenient', 'lenient.csv']);
  assert.equal(r.code, 0);
  assert.deepEqual(ids(r.stdout), ['T1', 'T3', 'T5']);
  assert.equal(
    r.stderr,
    [
      'capi-split: warning: lenient.csv:3: field "method": unknown method "GRT" (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE) (row skipped)',
      'capi-split: warning: lenient.csv:5: duplicate id "T1" (first at line 2) (row skipped)',
      'capi-split: warning: lenient.csv:6: field "url": missing (row skipped)',
      'capi-split: skipped 3 bad rows',
      '',
    ].join('\n'),
  );
  const structural = await split(['--lenient', 'unterminated-quote.csv']);
  assert.equal(structural.code, 2, 'broken CSV structure stays fatal');
});

async function bigSuite(rows: number): Promise<string> {
  const file = join(tmp.path, `suite-${rows}.csv`);
  let text = 'id,name,url,tags\n';
  for (let i = 0; i < rows; i++) text += `T${i},name ${i},/items/${i},${i % 2 ? 'smoke' : 'slow;auth'}\n`;
  await writeFile(file, text);
  return file;
}

test('filters: --start/--end, --tags, --grep; shards are disjoint and cover everything', async () => {
  const file = await bigSuite(200);
  assert.deepEqual(ids((await split([file, '--start', '0', '--end', '3'])).stdout), ['T0', 'T1', 'T2']);
  assert.deepEqual(ids((await split([file, '--start', '198'])).stdout), ['T198', 'T199']);
  assert.deepEqual(ids((await split([file, '--end', '6', '--tags', 'auth,none'])).stdout), ['T0', 'T2', 'T4']);
  assert.deepEqual(ids((await split([file, '--grep', '^name 1[0-2]$'])).stdout), ['T10', 'T11', 'T12']);
  const shards = await Promise.all(['1/3', '2/3', '3/3'].map((s) => split([file, '--shard', s])));
  const all = shards.flatMap((r) => ids(r.stdout));
  assert.equal(all.length, 200);
  assert.equal(new Set(all).size, 200);
  for (const r of shards) assert.ok(ids(r.stdout).length > 30, 'each shard gets a fair share');
});

test('a closed downstream pipe (| head -1) ends quietly with exit 0', async () => {
  const file = await bigSuite(100_000);
  const child = spawn(process.execPath, [binPath('capi-split'), file], {
    env: testEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b;
  });
  child.stdout.once('data', () => child.stdout.destroy());
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('usage: --help with examples and --version exit 0; bad flags exit 2 with a hint', async () => {
  const help = await split(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:\n {2}capi-split suite\.csv > tests\.ndjson/);
  const version = await split(['--version']);
  assert.equal(version.stdout, 'capi-split 0.1.0\n');
  const cases: Array<[string[], string]> = [
    [['good.csv', '--batch-size', '10'], '--batch-size needs --out DIR'],
    [['good.csv', '--max-batch-size', '10'], '--max-batch-size needs --out DIR'],
    [
      ['good.csv', '--out', 'x', '--batch-size', '50', '--max-batch-size', '10'],
      '--max-batch-size 10 is below --batch-size 50',
    ],
    [['good.csv', '--shard', '4/3'], '--shard takes K/N with 1 <= K <= N, or auto (got "4/3")'],
    [['good.csv', '--start', '5', '--end', '2'], '--end (2) is before --start (5)'],
    [['good.csv', '--grep', '('], '--grep: Invalid regular expression: /(/: Unterminated group'],
    [['good.csv', '--conccurency', '4'], "unknown option '--conccurency'"],
    [['good.csv', '--format', 'xml'], `option '--format' takes one of auto, csv, ndjson (got "xml")`],
  ];
  for (const [args, message] of cases) {
    const r = await split(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `capi-split: ${message}\nTry 'capi-split --help' for more information.\n`);
  }
  assert.equal((await split(['good.csv', '--format=csv'])).code, 0);
  const missing = await split(['nope.csv']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'capi-split: nope.csv: no such file\n');
});

test('--help: the option lines form one column, with no flag sticking out to the left', async () => {
  const help = await split(['--help']);
  const options = (help.stdout.split('Options:\n')[1] ?? '').split('\n\n')[0] ?? '';
  const lines = options.split('\n').filter((line) => /^ +-/.test(line));
  assert.ok(
    lines.some((l) => /^ {6}--format FORMAT +\S/.test(l)),
    lines.join('\n'),
  );
  // every flag starts at column 2 (-x, --long) or 6 (--long), and every description on a
  // flag's line starts at one column
  for (const line of lines) assert.match(line, /^( {2}-\w, --| {6}--)\S/, line);
  const starts = new Set(lines.map((l) => /^ *\S+(?: \S+)* {2,}/.exec(l)?.[0].length).filter((n) => n !== undefined));
  assert.equal(starts.size, 1, [...starts].join(', '));
});

test('an --out folder inside a missing parent is created; a file in the way is refused', async () => {
  const blocker = join(tmp.path, 'blocker');
  await writeFile(blocker, 'x');
  const r = await split(['good.csv', '--out', blocker]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `capi-split: ${blocker}: exists and is not a folder\n`);
  await mkdir(join(tmp.path, 'deep'), { recursive: true });
  const ok = await split(['good.csv', '--out', join(tmp.path, 'deep', 'a', 'b')]);
  assert.equal(ok.code, 0);
});

for (const [sig, exitCode] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)
  test(`${sig} during --out removes the temporary folder and exits ${exitCode}`, async () => {
    const file = await bigSuite(300_000);
    const parent = join(tmp.path, `interrupted-${sig}`);
    await mkdir(parent);
    const child = spawn(process.execPath, [binPath('capi-split'), file, '--out', join(parent, 'batches')], {
      env: testEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // Wait until the temporary folder exists, so the signal lands in the middle of the work.
    const temps = async () => (await readdir(parent)).filter((n) => n.startsWith('.batches.tmp-'));
    for (let i = 0; i < 600 && (await temps()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill(sig);
    const code = await closed;
    clearTimeout(timer);
    assert.equal(code, exitCode);
    assert.equal(stderr, `capi-split: stopped by ${sig}\n`);
    assert.deepEqual(await readdir(parent), []);
  });

/** capi-split reading stdin that stays open: its temporary folder beside `out` is made, its rename never comes. */
function splitWaiting(out: string) {
  const child = spawn(process.execPath, [binPath('capi-split'), '-', '--out', out, '--batch-size', '1'], {
    env: testEnv(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  child.stdin.on('error', () => {});
  child.stdin.write('id,url\nA,/a\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { child, closed: closed.finally(() => clearTimeout(timer)) };
}

/** The temporary folders beside `out`, once there are `n` (bounded). */
async function tempsOf(out: string, n: number): Promise<string[]> {
  const parent = join(out, '..');
  for (let i = 0; i < 400; i++) {
    const names = (await readdir(parent)).filter((f) => f.startsWith('.out.tmp-')).sort();
    if (names.length >= n) return names;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${n} temporary folders beside ${out}`);
}

test("--out: a temporary folder a SIGKILLed split left is removed by the next split into the folder, saying so; a live split's is left alone", async () => {
  const out = join(tmp.path, 'killed', 'out');
  await mkdir(join(out, '..'), { recursive: true });
  const live = splitWaiting(out);
  const [liveTemp] = await tempsOf(out, 1);
  // a second split finds the first's folder and leaves it: its maker is alive
  const killed = splitWaiting(out);
  const left = (await tempsOf(out, 2)).find((n) => n !== liveTemp);
  killed.child.kill('SIGKILL');
  await killed.closed;
  const r = await split(['good.csv', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr.split('\n')[0],
    `capi-split: removed ${join(out, '..', left as string)}: left by a capi-split that is gone (pid ${killed.child.pid} has ended)`,
  );
  assert.deepEqual(
    (await readdir(join(out, '..'))).filter((f) => f.startsWith('.out.tmp-')),
    [liveTemp],
    "the live split's folder stays",
  );
  assert.equal(live.child.kill('SIGTERM'), true);
  await live.closed;
  assert.deepEqual((await readdir(join(out, '..'))).sort(), ['out'], 'the stopped split removed its own');
});

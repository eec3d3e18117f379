import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CsvError, type Parser, parse } from 'csv-parse';
import { CsvReader, type CsvRow } from './csv-reader.js';
import { csvRows } from './csv-rows.js';
import { InputError } from './errors.js';
import { createRandom } from './seeded-random.js';
import { utf8Chunks } from './utf8-chunks.js';

// ---------------------------------------------------------------------------------------
// The reference: capi-split's CSV reading as it was with csv-parse 7 (csv-rows.ts before
// capi had its own reader), kept here word for word to hold the new reader to it.

async function* csvParseRows(chunks: AsyncIterable<Buffer>, source: string): AsyncGenerator<CsvRow[]> {
  const parser = parse({ relax_column_count: true });
  const feeding = pipeline(Readable.from(chunks), parser).catch(() => {});
  let line = 1;
  try {
    for await (const records of drainThenThrow(parser)) {
      const rows: CsvRow[] = [];
      for (const cells of records) {
        if (!cells.every((c: string) => c.trim() === '')) rows.push({ cells, line });
        line += 1 + cells.reduce((n: number, c: string) => n + c.split('\n').length - 1, 0);
      }
      if (rows.length > 0) yield rows;
    }
  } catch (err) {
    throw asInputError(err, source, line);
  } finally {
    parser.destroy();
    await feeding;
  }
}

async function* drainThenThrow(parser: Parser): AsyncGenerator<string[][]> {
  let error: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  parser.on('error', (err) => {
    error = err;
    notify();
  });
  for (;;) {
    const batch: string[][] = [];
    for (let record = parser.read(); record !== null; record = parser.read()) batch.push(record);
    if (batch.length > 0) {
      yield batch;
      continue;
    }
    if (error) throw error;
    if (ended) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

const OLD_MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'unterminated quote: a quoted field that opens in this row is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'malformed CSV: a quote inside an unquoted field, or text right after a closing quote',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'malformed CSV: text right after a closing quote',
  INVALID_OPENING_QUOTE: 'malformed CSV: a quote inside an unquoted field (double it, and quote the field)',
};

function asInputError(err: unknown, source: string, line: number): unknown {
  if (!(err instanceof CsvError)) return err;
  const text = OLD_MESSAGES[err.code] ?? `malformed CSV: ${err.message.charAt(0).toLowerCase()}${err.message.slice(1)}`;
  return new InputError(source, line, text);
}

// ---------------------------------------------------------------------------------------

interface Outcome {
  rows: CsvRow[];
  error: string | null;
}

type Reader = (chunks: AsyncIterable<Buffer>, source: string) => AsyncGenerator<CsvRow[]>;

async function run(read: Reader, pieces: Buffer[], viaUtf8 = true): Promise<Outcome> {
  const rows: CsvRow[] = [];
  const input = viaUtf8 ? utf8Chunks(pieces, 's.csv') : Readable.from(pieces);
  try {
    for await (const batch of read(input, 's.csv')) rows.push(...batch);
    return { rows, error: null };
  } catch (err) {
    assert.ok(err instanceof InputError, `not an InputError: ${err}`);
    return { rows, error: err.message };
  }
}

/** Rows of a whole text through the reader itself, no streams. */
function readAll(text: string, cuts: number[] = []): Outcome {
  const reader = new CsvReader('s.csv');
  const rows: CsvRow[] = [];
  let at = 0;
  try {
    for (const cut of [...cuts, text.length]) {
      reader.read(text.slice(at, cut), rows);
      at = cut;
    }
    reader.end(rows);
    return { rows, error: null };
  } catch (err) {
    assert.ok(err instanceof InputError);
    return { rows, error: err.message };
  }
}

const TOKENS = [
  'a',
  'id',
  '/x',
  ' ',
  '\t',
  'é',
  '😀',
  '€',
  '\u00a0',
  '\ufeff',
  '\u2028',
  ',',
  ',',
  ',',
  '"',
  '""',
  '"a"',
  '"a,b"',
  '"x""y"',
  '"l1\nl2"',
  '"c\r\nd"',
  '"e\rf"',
  '""',
  '\n',
  '\n',
  '\r\n',
  '\r',
  '\0',
  '"q"\0',
];

/** Hostile CSV: mostly rows of fields, some plain token soup, now and then a huge field. */
function hostileCsv(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const eol = pick(['\n', '\r\n', '\r', '\n']);
  let text = next() < 0.1 ? pick(['\n', '\r\n', '\n\n']) : '';
  const lines = 1 + Math.floor(next() * 6);
  for (let l = 0; l < lines; l++) {
    if (next() < 0.4) {
      // token soup: anything at all
      const n = Math.floor(next() * 12);
      for (let t = 0; t < n; t++) text += pick(TOKENS);
    } else {
      // a row of fields, quoted or not, ragged
      const cells = Math.floor(next() * 5);
      const fields: string[] = [];
      for (let c = 0; c < cells; c++) {
        const body = Array.from({ length: Math.floor(next() * 4) }, () => pick(['a', 'é', ' ', '😀', '1', '\0'])).join(
          '',
        );
        const r = next();
        if (r < 0.4) fields.push(body);
        else if (r < 0.8) fields.push(`"${body.replaceAll('"', '""')}${pick(['', '""', ',', '\n', '\r\n', eol])}"`);
        else fields.push(pick(TOKENS));
      }
      text += fields.join(',');
    }
    if (next() < 0.9) text += next() < 0.8 ? eol : pick(['\n', '\r\n', '\r']);
  }
  if (next() < 0.05) text += `"${'h'.repeat(40_000)}"\n`;
  if (next() < 0.05) text += `${'u'.repeat(40_000)},z\n`;
  if (next() < 0.1) text = `\ufeff${text}`;
  return text;
}

async function assertSame(text: string, next: () => number): Promise<void> {
  const bytes = Buffer.from(text);
  const label = JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text);
  const expected = await run(csvParseRows, [bytes]);
  assert.deepEqual(await run(csvRows, [bytes]), expected, `whole: ${label}`);
  // csv-parse itself does not depend on where chunks end; nor may we
  if (bytes.length < 400) {
    const oneByOne = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(await run(csvParseRows, oneByOne), expected, `csv-parse, 1-byte pieces: ${label}`);
    assert.deepEqual(await run(csvRows, oneByOne), expected, `1-byte pieces: ${label}`);
  }
  // raw bytes cut anywhere, a character cut in two included (no BOM: utf8Chunks drops that)
  const raw = text.startsWith('\ufeff') ? null : bytes;
  if (raw && raw.length < 400) {
    for (let cut = 0; cut <= raw.length; cut++) {
      const pieces: Buffer[] = [raw.subarray(0, cut), raw.subarray(cut)];
      assert.deepEqual(await run(csvRows, pieces, false), expected, `cut at byte ${cut}: ${label}`);
    }
  } else {
    for (let k = 0; k < 20; k++) {
      const cuts = [0, ...Array.from({ length: 6 }, () => Math.floor(next() * bytes.length)), bytes.length].sort(
        (a, b) => a - b,
      );
      const pieces: Buffer[] = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i] as number, end));
      assert.deepEqual(await run(csvRows, pieces), expected, `random cuts ${cuts}: ${label}`);
    }
  }
  // the reader alone, text cut at every character (no BOM, which the byte layer drops)
  if (!text.startsWith('\ufeff') && text.length < 400) {
    for (let cut = 0; cut <= text.length; cut++) assert.deepEqual(readAll(text, [cut]), expected, `text cut ${cut}`);
  }
}

test('reads exactly what csv-parse read: 600 seeded hostile CSV texts, cut at every byte', async () => {
  const next = createRandom(16);
  for (let k = 0; k < 600; k++) await assertSame(hostileCsv(next), next);
});

test('the same on hand-picked edges: delimiters, quotes at piece ends, NUL after a quote, blank rows', async () => {
  const next = createRandom(7);
  const cases = [
    '',
    '\n',
    '\r\n\r\n',
    'a',
    'a\n',
    'a,',
    ',',
    '""',
    '"',
    '"a""',
    '"a"""',
    'a"b',
    '"a"b',
    '"a" ,b',
    '"a"\0,b\n',
    '"a"\0"\n',
    '""\0x',
    'id,url\nT1,/a\r\nT2,/b\n',
    'id,url\r\nT1,"/a"\nT2\r\n',
    'id,url\nT1,"/a"\r\nT2\n',
    'id\rT1\nx\rT2',
    'id,url\n\n \t ,\u00a0\nT1,"multi\nline\r\ncell"\nT2,"a""b"\n',
    'id,url\nT1,/a\nT2,"/b\n',
    'id,url\nT1,"a\nb"c\n',
    'id\n"\ufeff"\n\ufeff\n',
    'a,b\r',
    'a,"b"\r',
    'a,"b"\r\n',
  ];
  for (const text of cases) await assertSame(text, next);
});

test('errors name the row a bad quote is in, after the rows before it', async () => {
  const out = await run(csvRows, [Buffer.from('id,url\nT1,"a\nb"\nT2,x"y\n')]);
  assert.deepEqual(out, {
    rows: [
      { cells: ['id', 'url'], line: 1 },
      { cells: ['T1', 'a\nb'], line: 2 },
    ],
    error: 's.csv:4: malformed CSV: a quote inside an unquoted field (double it, and quote the field)',
  });
  assert.equal(
    (await run(csvRows, [Buffer.from('id\n"a"b\n')])).error,
    's.csv:2: malformed CSV: a quote inside an unquoted field, or text right after a closing quote',
  );
  assert.equal(
    (await run(csvRows, [Buffer.from('id\n\n"a\n')])).error,
    's.csv:3: unterminated quote: a quoted field that opens in this row is never closed',
  );
});

test('a field of megabytes in 16 KiB pieces is read in linear time', async () => {
  const big = 'x'.repeat(8 << 20);
  for (const text of [`id,b\n1,${big}\n`, `id,b\n1,"${big}"\n`]) {
    const bytes = Buffer.from(text);
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 16 * 1024) pieces.push(bytes.subarray(at, at + 16 * 1024));
    const started = process.hrtime.bigint();
    const { rows, error } = await run(csvRows, pieces);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.equal(error, null);
    assert.equal(rows[1]?.cells[1]?.length, big.length);
    // quadratic re-reading would take minutes here; linear takes well under a second
    assert.ok(seconds < 30, `${seconds} s`);
  }
});

test('a kept cell does not keep the piece it was read from alive', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const kept: string[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  const reader = new CsvReader('s.csv');
  // 400 pieces of 16 Ki characters; one 24-character cell of each is kept, as a flow name
  // or a cache key is: 6.5 MB of pieces if the cells were views into them
  for (let k = 0; k < 400; k++) {
    const rows: CsvRow[] = [];
    const name = `flow-${String(k).padStart(19, '0')}`;
    reader.read(`${name},${'x'.repeat(16 * 1024 - name.length - 2)}\n`, rows);
    kept.push(rows[0]?.cells[0] as string);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(kept.length, 400);
  assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown} bytes`);
});

test('a cell of a million quote pairs is not held as a million tiny strings while it is read', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const pieces = 128;
  const piece = '""'.repeat(8 * 1024); // 16 Ki characters, 8 Ki pairs: a million pairs in all
  const reader = new CsvReader('s.csv');
  const rows: CsvRow[] = [];
  reader.read('id,body\nq,"', rows);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let k = 0; k < pieces; k++) reader.read(piece, rows);
  gc();
  // the field so far: ~1 MB of text; one string per pair would be some 40 MB more
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${grown} bytes`);
  reader.read('"\n', rows);
  reader.end(rows);
  assert.equal(rows.length, 2);
  assert.equal(rows[1]?.cells[1], '"'.repeat(pieces * 8 * 1024));
});

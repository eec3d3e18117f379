#!/usr/bin/env node
// Writes examples/suite.csv and examples/expected.json: the example suite that runs against
// the demo API (libs/demo-api). Deterministic: the same script always writes the same bytes.
// Usage: node examples/generate-suite.mjs --out FILE|- [--rows 1000]   (a suite elsewhere; - is stdout)
//        node examples/generate-suite.mjs --write-examples             (rewrite the checked-in files)
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The suite columns are capi-split's own list (libs/split columns.ts, docs/formats.md), in its
 * order: a column added there is written here too (and the test that compares the checked-in
 * suite with this output asks for --write-examples). The flows' columns are examples/flows.csv's
 * to show; this suite's two variables come last. The list is read from the built library,
 * so the generator needs `npm run build` once.
 */
const { KNOWN_COLUMNS } = await import('@capi/split').catch((err) => {
  process.stderr.write(
    `generate-suite: cannot load @capi/split (${err.code ?? err.message}): run npm run build first\n`,
  );
  process.exit(3);
});
const FLOW_COLUMNS = ['capture', 'flow', 'phase'];
const columns = [...KNOWN_COLUMNS.filter((c) => !FLOW_COLUMNS.includes(c)), 'item_id', 'region'];
const regions = ['eu', 'us', 'apac'];
const statusCodes = [200, 201, 202, 204, 400, 401, 403, 404, 409, 410, 418, 422, 500];
const disabledWords = ['no', 'false', '0', 'off'];

/** A small LCG: enough variety, identical output on every machine. */
function lcg(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/**
 * The rows meant to fail (the API answers, an expectation does not hold) and to error
 * (no usable answer). Each is tagged designed-fail / designed-error; docs/demo-api.md and
 * examples/README.md say why each one fails.
 */
const designed = [
  { name: 'designed fail: wrong status for an existing item', url: '/items/1', expect_status: '404' },
  { name: 'designed fail: missing item expected to exist', url: '/items/10500', expect_status: '200' },
  { name: 'designed fail: body lacks the substring', url: '/items/2', expect_body: 'item-3' },
  { name: 'designed fail: body does not match the regex', url: '/health', expect_body: '/^down$/' },
  { name: 'designed fail: JSON value differs', url: '/items/5', expect_json: '{"name":"item-6"}' },
  { name: 'designed fail: JSON type differs (5 is not "5")', url: '/items/5', expect_json: '{"id":"5"}' },
  { name: 'designed fail: slower than max_ms', url: '/items/7?latency=400', max_ms: '100' },
  { name: 'designed fail: secure call without a token', url: '/secure', expect_status: '200' },
  {
    name: 'designed fail: create without a name is refused',
    method: 'POST',
    url: '/items',
    body: '{"price": 1}',
    expect_status: '201',
  },
  {
    name: 'designed fail: echoed header differs',
    method: 'POST',
    url: '/echo',
    headers: '{"X-Region":"eu"}',
    body: '{}',
    expect_json: '{"headers":{"x-region":"us"}}',
  },
].map((r) => ({ ...r, tags: 'designed-fail' }));

const designedErrors = [
  { name: 'designed error: the server resets the connection', url: '/reset' },
  { name: 'designed error: timeout_ms below the latency', url: '/items/1?latency=3000', timeout_ms: '300' },
  { name: 'designed error: timeout_ms below the delay', url: '/delay/3000', timeout_ms: '300' },
].map((r) => ({ ...r, tags: 'designed-error' }));

/** The ordinary rows, by kind; every one passes against the demo API with default knobs. */
const kinds = {
  getItem: (i, v) => ({
    name: i % 10 === 3 ? '' : i % 17 === 0 ? `élément ${v.item_id} ✓` : `get item ${v.item_id}`,
    method: i % 7 === 0 ? '' : i % 13 === 0 ? 'get' : 'GET',
    url: i % 11 === 0 ? '/items/{{item_id}}?latency=20' : '/items/{{item_id}}',
    expect_status: i % 3 === 0 ? '200' : '',
    expect_body: 'item-{{item_id}}',
    expect_json: '{"id": {{item_id}}, "name": "item-{{item_id}}"}',
    max_ms: i % 9 === 0 ? '5000' : '',
    timeout_ms: i % 9 === 0 ? '10000' : '',
    tags: i % 4 === 0 ? 'smoke;items' : 'items',
  }),
  list: (_i, v) => ({
    name: `list items from ${v.item_id}`,
    url: '/items?limit=5&offset={{item_id}}',
    expect_json: '{"limit": 5, "offset": {{item_id}}}',
    tags: 'items',
  }),
  create: (_i, v) => ({
    name: `create widget ${v.item_id} in ${v.region}`,
    method: 'POST',
    url: '/items',
    body: '{"name": "widget-{{item_id}}", "region": "{{region}}", "price": 12.5}',
    expect_status: '201',
    expect_json: '{"name": "widget-{{item_id}}", "region": "{{region}}"}',
    tags: 'crud',
  }),
  update: (_i, v) => ({
    name: `rename item ${v.item_id}`,
    method: 'PUT',
    url: '/items/{{item_id}}',
    body: '{"name": "renamed-{{item_id}}"}',
    expect_status: '200',
    expect_json: '{"id": {{item_id}}, "name": "renamed-{{item_id}}"}',
    tags: 'crud',
  }),
  patch: (_i, v) => ({
    name: `patch item ${v.item_id}`,
    method: 'PATCH',
    url: '/items/{{item_id}}',
    headers: 'Content-Type: application/json',
    body: '{"name": "patched", "price": 9.99}',
    expect_status: '200,204',
    expect_json: '{"id": {{item_id}}, "price": 9.99}',
    tags: 'crud',
  }),
  remove: (_i, v) => ({
    name: `delete item ${v.item_id}`,
    method: 'DELETE',
    url: '/items/{{item_id}}',
    expect_status: '204',
    tags: 'crud',
  }),
  echoJson: (_i, v) => ({
    name: `echo JSON with headers (${v.region})`,
    method: 'POST',
    url: '/echo',
    headers: '{"X-Region": "{{region}}", "X-Trace": "t-{{item_id}}"}',
    body: '{"region": "{{region}}", "note": "a, b; \\"c\\""}',
    expect_json:
      '{"headers": {"x-region": "{{region}}", "x-trace": "t-{{item_id}}"}, "json": {"region": "{{region}}"}}',
    tags: 'echo',
  }),
  echoText: (_i, v) => ({
    name: `echo text with commas and newlines ${v.item_id}`,
    method: 'PUT',
    url: '/echo',
    headers: 'X-Region: {{region}}\nAccept: application/json',
    body: 'line one, with a comma\nline two, "quoted", {{region}}',
    expect_body: 'line one, with a comma',
    expect_json: '{"method": "PUT", "headers": {"x-region": "{{region}}"}, "json": null}',
    tags: 'echo',
  }),
  echoQuery: () => ({
    name: 'echo query',
    url: '/echo?region={{region}}&n={{item_id}}',
    expect_json: '{"method": "GET", "query": {"region": "{{region}}", "n": "{{item_id}}"}}',
    tags: 'echo',
  }),
  status: (i) => {
    const code = statusCodes[i % statusCodes.length];
    const forms = [String(code), `${String(code)[0]}xx`, `${code},299`, `2xx,${code}`];
    return {
      name: `status ${code}`,
      url: `/status/${code}`,
      expect_status: forms[i % forms.length],
      expect_json: code === 204 ? '' : `{"status": ${code}}`,
      tags: code >= 400 ? 'errors;status' : 'status',
    };
  },
  notFound: () => ({
    name: 'unknown item is 404',
    url: '/items/{{item_id}}',
    expect_status: '404',
    expect_json: '{"error": "not found"}',
    tags: 'errors;items',
  }),
  head: () => ({ name: 'head item', method: 'HEAD', url: '/items/{{item_id}}', expect_status: '200', tags: 'items' }),
  health: () => ({ name: 'health', url: '/health', expect_json: '{"status": "ok"}', tags: 'smoke' }),
  secure: () => ({
    name: 'secure with the token from the environment',
    url: '/secure',
    headers: 'Authorization: Bearer {{env.DEMO_TOKEN}}',
    expect_status: '200',
    expect_json: '{"ok": true}',
    tags: 'auth;smoke',
  }),
  noToken: () => ({ name: 'secure without a token is 401', url: '/secure', expect_status: '401', tags: 'auth;errors' }),
  delay: () => ({
    name: 'short delay',
    url: '/delay/25',
    expect_json: '{"delayedMs": 25}',
    max_ms: '5000',
    timeout_ms: '10000',
    tags: 'slow',
  }),
  bytes: () => ({ name: '2 KiB of text', url: '/bytes/2048', expect_body: '/^abc[a-z]+0123/', tags: 'bytes' }),
  html: () => ({ name: 'hostile html', url: '/html', expect_body: '<script>alert(1)</script>', tags: 'html' }),
  options: () => ({
    name: 'options echo',
    method: 'OPTIONS',
    url: '/echo',
    expect_json: '{"method": "OPTIONS"}',
    tags: 'echo',
  }),
};

// 25 slots: the mix of an ordinary stretch of the suite.
const cycle = [
  'getItem',
  'getItem',
  'getItem',
  'list',
  'getItem',
  'create',
  'update',
  'getItem',
  'echoJson',
  'status',
  'getItem',
  'patch',
  'remove',
  'echoText',
  'getItem',
  'notFound',
  'echoQuery',
  'status',
  'head',
  'health',
  'secure',
  'getItem',
  'noToken',
  'options',
  'getItem',
];
const rare = ['delay', 'bytes', 'html'];

function ordinaryRow(i, rand) {
  let kind = cycle[i % cycle.length];
  if (i % 40 === 39) kind = rare[Math.floor(i / 40) % rare.length];
  const itemId = kind === 'notFound' ? 10001 + rand(5000) : rand(10001);
  const vars = { item_id: String(itemId), region: regions[rand(regions.length)] };
  return { ...kinds[kind](i, vars), ...vars };
}

/** The suite's rows, header first; fills `counts` as it goes, so memory stays flat for millions of rows. */
export function* suiteRows(rows, counts) {
  const rand = lcg(20260101);
  const specials = [...designed, ...designedErrors];
  const spacing = Math.max(1, Math.floor(rows / (specials.length + 1)));
  yield columns;
  for (let i = 0; i < rows; i++) {
    const slot = (i + 1) % spacing === 0 ? (i + 1) / spacing - 1 : -1;
    const special = slot >= 0 && slot < specials.length ? specials[slot] : null;
    const row = special ? { item_id: '', region: '', ...special } : ordinaryRow(i, rand);
    row.id = `T${String(i + 1).padStart(4, '0')}`;
    const skipped = !special && i % 50 === 24;
    row.enabled = skipped ? disabledWords[((i / 50) % disabledWords.length) | 0] : i % 6 === 0 ? 'yes' : '';
    if (skipped) row.name = `${row.name || row.id} (skipped)`;
    counts.total++;
    if (skipped) counts.skipped++;
    else if (row.tags === 'designed-fail') counts.failed++;
    else if (row.tags === 'designed-error') counts.errors++;
    else counts.passed++;
    yield columns.map((c) => row[c] ?? '');
  }
}

const emptyCounts = () => ({ total: 0, passed: 0, failed: 0, errors: 0, skipped: 0 });

/** The whole suite as one string (for tests and the committed 1,000-row file). */
export function generateSuite(rows = 1000) {
  const counts = emptyCounts();
  const csv = stringify([...suiteRows(rows, counts)]);
  return { csv, counts };
}

/** Streams a suite of any size to a writable stream, 1,000 rows at a time; returns the designed counts. */
export async function writeSuiteTo(out, rows) {
  const counts = emptyCounts();
  let batch = [];
  for (const row of suiteRows(rows, counts)) {
    batch.push(row);
    if (batch.length < 1000) continue;
    if (!out.write(stringify(batch))) await once(out, 'drain');
    batch = [];
  }
  if (!out.write(stringify(batch))) await once(out, 'drain');
  return counts;
}

/** Streams a suite of any size to `path` through a temp file, so a reader never sees half a file. */
export async function writeSuite(path, rows) {
  const tmp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  try {
    const counts = await writeSuiteTo(out, rows);
    out.end();
    await once(out, 'finish');
    await rename(tmp, path);
    return counts;
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}

const USAGE = `usage: node examples/generate-suite.mjs --out FILE|- [--rows N]
       node examples/generate-suite.mjs --write-examples [--rows N]

Writes the example suite for the demo API (libs/demo-api), deterministically.
  --out FILE        stream a suite of --rows tests (default 1000, at least 20) to FILE
                    (through a temp file; - is stdout); the designed outcome goes to stderr
  --write-examples  rewrite the checked-in examples/suite.csv and examples/expected.json
  --rows N          tests in the suite (default 1000; the checked-in files have 1000)
  -h, --help        this text
`;

/** A usage error: one line naming the problem, the usage line, exit 2 (docs/cli.md). */
function usageError(message) {
  process.stderr.write(`generate-suite: ${message}\n${USAGE.split('\n\n')[0]}\n`);
  process.exit(2);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rows: { type: 'string' },
        out: { type: 'string' },
        'write-examples': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usageError(
      err.message
        .split('\n')[0]
        .replace(/\. To specify a positional argument.*$/, '')
        .replace(/^Unknown/, 'unknown'),
    );
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const rows = Number(values.rows ?? 1000);
  if (!Number.isInteger(rows) || rows < 20) usageError(`--rows takes a whole number >= 20 (got "${values.rows}")`);
  if (values.out !== undefined && values['write-examples']) usageError('give --out or --write-examples, not both');
  if (values.out === undefined && !values['write-examples'])
    usageError(
      'name where to write: --out FILE (- for stdout), or --write-examples to rewrite examples/suite.csv and expected.json',
    );
  if (values.out === '-') {
    // a reader that stops early (`| head`) is not an error
    process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 3));
    const counts = await writeSuiteTo(process.stdout, rows);
    process.stderr.write(`generate-suite: stdout: ${rows} rows ${JSON.stringify(counts)}\n`);
    return;
  }
  const out = values.out ?? join(here, 'suite.csv');
  const counts = await writeSuite(out, rows);
  if (!values.out) writeFileSync(join(here, 'expected.json'), `${JSON.stringify(counts, null, 2)}\n`);
  process.stderr.write(`generate-suite: ${out}: ${rows} rows ${JSON.stringify(counts)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

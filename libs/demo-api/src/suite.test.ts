// A cross-check of examples/suite.csv that does not use capi-exec: a naive runner sends
// every row to the demo API and checks that exactly the designed rows fail or error.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import { Agent, request } from 'undici';
import type { DemoApi } from './options.js';
import { startDemoApi } from './server.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');
const token = 'suite-check-token';
const env: Record<string, string> = { DEMO_TOKEN: token };
type Row = Record<string, string>;
type Outcome = 'passed' | 'failed' | 'error' | 'skipped';

let api: DemoApi;
let agent: Agent;
before(async () => {
  api = await startDemoApi({ token });
  agent = new Agent({ connections: 16 });
});
after(async () => {
  await agent.close();
  await api.close();
});

function expand(text: string, vars: Row): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, key: string) =>
    key.startsWith('env.') ? (env[key.slice(4)] ?? '') : (vars[key] ?? ''),
  );
}

function parseHeaders(text: string): Record<string, string> {
  if (text.trim() === '') return {};
  if (text.trim().startsWith('{')) return JSON.parse(text);
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return out;
}

function statusMatches(pattern: string, status: number): boolean {
  return (pattern || '2xx')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .some((p) => (p.endsWith('xx') ? Math.floor(status / 100) === Number(p[0]) : Number(p) === status));
}

function contains(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    return Object.entries(expected).every(([k, v]) => k in actual && contains(v, (actual as Row)[k]));
  }
  return expected === actual;
}

function bodyMatches(pattern: string, text: string): boolean {
  const re = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  return re ? new RegExp(re[1]!, re[2]).test(text) : text.includes(pattern);
}

async function runRow(row: Row): Promise<Outcome> {
  if (['no', 'false', '0', 'off'].includes(row.enabled!.trim().toLowerCase())) return 'skipped';
  const headers = parseHeaders(expand(row.headers!, row));
  const body = row.body ? expand(row.body, row) : undefined;
  if (body !== undefined && !('content-type' in headers)) {
    try {
      JSON.parse(body);
      headers['content-type'] = 'application/json';
    } catch {}
  }
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    const res = await request(new URL(expand(row.url!, row), api.url), {
      method: (row.method || 'GET').toUpperCase() as 'GET',
      headers,
      body,
      dispatcher: agent,
      signal: AbortSignal.timeout(Number(row.timeout_ms) || 10_000),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch {
    return 'error';
  }
  const ms = performance.now() - started;
  const statusOk = statusMatches(row.expect_status!, status);
  if (!statusOk && (status >= 500 || status === 429)) return 'error';
  const checks = [
    statusOk,
    !row.expect_body || bodyMatches(expand(row.expect_body, row), text),
    !row.expect_json || contains(JSON.parse(expand(row.expect_json, row)), text ? JSON.parse(text) : null),
    !row.max_ms || ms <= Number(row.max_ms),
  ];
  return checks.every(Boolean) ? 'passed' : 'failed';
}

function designedOutcome(row: Row): Outcome {
  if (['no', 'false', '0', 'off'].includes(row.enabled!.trim().toLowerCase())) return 'skipped';
  const tags = row.tags!.split(';');
  if (tags.includes('designed-fail')) return 'failed';
  if (tags.includes('designed-error')) return 'error';
  return 'passed';
}

test('examples/suite.csv: exactly the designed rows fail or error against the demo API', async () => {
  const rows: Row[] = [];
  for await (const row of createReadStream(join(examples, 'suite.csv')).pipe(parse({ columns: true }))) rows.push(row);
  const counts = { total: rows.length, passed: 0, failed: 0, errors: 0, skipped: 0 };
  const surprises: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const got = await runRow(row);
      counts[got === 'error' ? 'errors' : got]++;
      const want = designedOutcome(row);
      if (got !== want) surprises.push(`${row.id} ${row.name}: ${got}, designed ${want}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.deepEqual(surprises, []);
  const expected = JSON.parse(await readFile(join(examples, 'expected.json'), 'utf8'));
  assert.deepEqual(counts, expected);
});

test('examples/suite.csv and expected.json are what generate-suite.mjs writes', async () => {
  const generator = await import(pathToFileURL(join(examples, 'generate-suite.mjs')).href);
  const { csv, counts } = generator.generateSuite(1000);
  assert.equal(await readFile(join(examples, 'suite.csv'), 'utf8'), csv);
  assert.deepEqual(JSON.parse(await readFile(join(examples, 'expected.json'), 'utf8')), counts);
});

test('every designed row is named in examples/README.md and docs/demo-api.md', async () => {
  const csv = await readFile(join(examples, 'suite.csv'), 'utf8');
  const ids = [...csv.matchAll(/^(T\d{4}),[^\n]*designed-(?:fail|error)/gm)].map((m) => m[1]!);
  assert.equal(ids.length, 13);
  for (const doc of [join(examples, 'README.md'), join(examples, '../docs/demo-api.md')]) {
    const text = await readFile(doc, 'utf8');
    assert.deepEqual(
      ids.filter((id) => !text.includes(id)),
      [],
      doc,
    );
  }
});

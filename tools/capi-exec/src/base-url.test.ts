import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

const scope = fileScope();

const ids = (text: string) => (parseLines(text) as Array<{ id: string }>).map((r) => r.id);
const journalIds = async (path: string) => ids(await readFile(path, 'utf8').catch(() => ''));

test('a relative URL with no --base-url: exit 2 naming file, line, test and field; nothing run or journaled', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const suite = join(dir, 'rl.ndjson');
  const journal = join(dir, 'j.ndjson');
  await writeFile(
    suite,
    ndjson([
      get('abs', `${s.url}/a`),
      get('off', '/off', { enabled: false }),
      get('rel', '/items/0', { source: { file: 'suite.csv', line: 4 } }),
    ]),
  );
  const r = await runTool('capi-exec', ['--in', suite, '--journal', journal]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    `capi-exec: ${suite}:3: field "request.url": relative URL "/items/0" of test "rel" needs --base-url or CAPI_BASE_URL (suite.csv:4)\n`,
  );
  assert.equal(r.stdout, '');
  assert.equal(s.hits.length, 0, 'a file is checked before any test runs');
  assert.deepEqual(await journalIds(journal), []);
  // The corrected command runs every test: nothing was poisoned.
  const fixed = await runTool('capi-exec', ['--in', suite, '--journal', journal], { env: { CAPI_BASE_URL: s.url } });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual((await journalIds(journal)).sort(), ['abs', 'off', 'rel']);
});

test('from stdin, the first relative URL stops the run before it is sent or journaled', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson([get('abs', `${s.url}/a`), get('rel', 'items/{{n}}', { vars: { n: '7' } }), get('x', '/x')]);
  const r = await runTool('capi-exec', ['--journal', journal], { input });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^capi-exec: <stdin>:2: field "request\.url": relative URL "items\/\{\{n\}\}" of test "rel" needs --base-url or CAPI_BASE_URL\n$/,
  );
  assert.deepEqual(
    s.hits.map((h) => h.path),
    ['/a'],
  );
  assert.deepEqual(await journalIds(journal), ['abs']);
  // Without a journal too: no BAD_URL result on stdout.
  const plain = await runTool('capi-exec', [], { input: ndjson([get('rel', '/r')]) });
  assert.equal(plain.code, 2);
  assert.equal(plain.stdout, '');
  // A template that expands to an absolute URL needs no base URL.
  const templated = await runTool('capi-exec', [], {
    input: ndjson([get('t', '{{host}}/t', { vars: { host: s.url } })]),
  });
  assert.equal(templated.code, 0, templated.stderr);
});

test('the journal meta records the base URL; a resume against another one is refused unless --force', async () => {
  const a = await scope.server((_req, res) => res.end('a'));
  const b = await scope.server((_req, res) => res.end('b'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson(Array.from({ length: 6 }, (_, i) => get(`t${i}`, '/x')));
  const first = await runTool('capi-exec', ['--base-url', `${a.url}/api/`, '--journal', journal], {
    input: ndjson([get('t0', '/x')]),
  });
  assert.equal(first.code, 0, first.stderr);
  const meta = JSON.parse(await readFile(`${journal}.meta.json`, 'utf8'));
  assert.equal(meta.baseUrl, `${a.url}/api`);
  // The same base URL, spelled with or without its trailing slash, resumes.
  const same = await runTool('capi-exec', ['--journal', journal], { input, env: { CAPI_BASE_URL: `${a.url}/api` } });
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual(ids(same.stdout), ['t1', 't2', 't3', 't4', 't5']);
  const other = await runTool('capi-exec', ['--base-url', b.url, '--journal', journal], {
    input: ndjson([...parseLines(input), get('t6', '/x')] as Array<Record<string, unknown>>),
  });
  assert.equal(other.code, 2);
  assert.equal(
    other.stderr,
    `capi-exec: ${journal}.meta.json: cannot resume: the journal was written against --base-url ${a.url}/api, this run has ${b.url} (--force resumes anyway)\n`,
  );
  assert.equal(b.hits.length, 0);
  const forced = await runTool('capi-exec', ['--base-url', b.url, '--journal', journal, '--force'], {
    input: ndjson([get('t6', '/x')]),
  });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /warning: the journal was written against --base-url .* \(--force\)/);
  assert.equal(b.hits.length, 1);
});

test('a meta of an older capi-exec (no baseUrl) still resumes; an empty journal takes the new base URL', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  await writeFile(
    journal,
    `${JSON.stringify({ id: 'old', name: 'old', status: 'passed', attempts: 1, startedAt: new Date().toISOString(), durationMs: 1, response: { status: 200, bytes: 2 }, failures: [], error: null, batch: null, worker: null, runId: null, tags: [], shard: null })}\n`,
  );
  const legacy = { version: 1, fingerprint: 'fnv1a32-request.expect/v1', shard: null, batch: null, created: 'x' };
  await writeFile(`${journal}.meta.json`, `${JSON.stringify(legacy)}\n`);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], {
    input: ndjson([get('old', '/o'), get('new', '/n')]),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(ids(r.stdout), ['new']);
  assert.deepEqual(JSON.parse(await readFile(`${journal}.meta.json`, 'utf8')), legacy, 'the meta is left as it was');

  // A journal with no results mixes nothing: a resume against a new target starts it afresh.
  const empty = join(dir, 'e.ndjson');
  const dead = await runTool('capi-exec', ['--base-url', 'http://127.0.0.1:1', '--journal', empty, '--retries', '0'], {
    input: ndjson([get('u', '/u')]),
  });
  assert.equal(dead.code, 3, dead.stderr);
  assert.ok(existsSync(`${empty}.meta.json`));
  const up = await runTool('capi-exec', ['--base-url', s.url, '--journal', empty], { input: ndjson([get('u', '/u')]) });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(JSON.parse(await readFile(`${empty}.meta.json`, 'utf8')).baseUrl, s.url);
});

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inShard, parseShard } from '@capi/core';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';
import { get, ndjson } from './test-support/fixtures.js';

let api: DemoApi;
before(async () => {
  api = await startDemoApi({ token: 'tok-7c1f9e2a-secret' });
});
after(async () => {
  killAll();
  await api.close();
});

type Result = {
  id: string;
  status: string;
  failures: Array<{ check: string; expected: string; actual: string }>;
  error: { code: string; message: string } | null;
  attempts: number;
  response: { status: number; bytes: number } | null;
};
const byId = (stdout: string) => new Map((parseLines(stdout) as Result[]).map((r) => [r.id, r]));

test('--help and --version go to stdout; an unknown flag is exit 2', async () => {
  const help = await runTool('capi-exec', ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--max-errors/);
  const version = await runTool('capi-exec', ['--version']);
  assert.equal(version.stdout, 'capi-exec 0.1.0\n');
  const bad = await runTool('capi-exec', ['--conccurency', '4']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /unknown option '--conccurency'/);
  const rate = await runTool('capi-exec', ['--rate', 'fast']);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /--rate takes/);
});

test('every check kind passes and fails; exit 1 when one fails', async () => {
  const input = ndjson([
    get('status-ok', '/items/1', { expect: { status: '200' } }),
    get('status-fail', '/items/abc', { expect: { status: '2xx' } }),
    get('status-mix', '/items/abc', { expect: { status: '2xx,404' } }),
    get('body-ok', '/items/1', { expect: { body: 'item-1' } }),
    get('body-fail', '/items/1', { expect: { body: 'item-2"' } }),
    get('regex-ok', '/items/42', { expect: { body: '/"name":"ITEM-\\d+"/i' } }),
    get('regex-fail', '/items/42', { expect: { body: '/^\\[/' } }),
    get('json-ok', '/items/42', { expect: { json: '{"id":42,"name":"item-42"}' } }),
    get('json-fail', '/items/42', { expect: { json: '{"id":43}' } }),
    get('maxms-ok', '/items/1', { expect: { maxMs: 5000 } }),
    get('maxms-fail', '/delay/120', { expect: { maxMs: 20 } }),
    get('expect-500', '/status/500', { expect: { status: '500' } }),
    get('off', '/items/1', { enabled: false }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', api.url, '--retries', '0'], { input });
  assert.equal(r.code, 1, r.stderr);
  const res = byId(r.stdout);
  for (const id of ['status-ok', 'status-mix', 'body-ok', 'regex-ok', 'json-ok', 'maxms-ok', 'expect-500'])
    assert.equal(res.get(id)?.status, 'passed', `${id}: ${JSON.stringify(res.get(id))}`);
  const failed = (id: string) => res.get(id)?.failures.map((f) => f.check);
  assert.deepEqual(failed('status-fail'), ['status']);
  assert.deepEqual(failed('body-fail'), ['body']);
  assert.deepEqual(failed('regex-fail'), ['body']);
  assert.deepEqual(res.get('json-fail')?.failures[0], { check: 'json', expected: '$.id = 43', actual: '$.id = 42' });
  assert.deepEqual(failed('maxms-fail'), ['max_ms']);
  assert.equal(res.get('off')?.status, 'skipped');
  assert.match(r.stderr, /7 passed, 5 failed, 0 errors, 1 skipped/);
});

test('all passing is exit 0; a bad input line is exit 2 naming the line and field', async () => {
  const ok = await runTool('capi-exec', ['--base-url', api.url], { input: ndjson([get('a', '/health')]) });
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await runTool('capi-exec', ['--base-url', api.url], {
    input: `${ndjson([get('a', '/health')])}{"id":"b","request":{"method":"GRT","url":"/x"}}\n`,
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /capi-exec: <stdin>:2: field "request.method": unknown method "GRT"/);
});

test('templates and env credentials; the secret is in no file written', async () => {
  const dir = await tempDir();
  const secret = 'tok-7c1f9e2a-secret';
  try {
    const journal = join(dir.path, 'results.ndjson');
    const status = join(dir.path, 'status.json');
    const input = ndjson([
      get('secure', '/secure', { request: { headers: { Authorization: 'Bearer {{env.DEMO_TOKEN}}' } } }),
      get('echo', '/echo?region={{region}}&id={{id}}', { vars: { region: 'eu' }, expect: { body: 'never-there' } }),
      get('secure-flag', '/secure'),
      get('missing', '/items/{{nope}}'),
    ]);
    const r = await runTool(
      'capi-exec',
      [
        '--base-url',
        api.url,
        '--journal',
        journal,
        '--status',
        status,
        '--header',
        'X-Api-Key: {{env.DEMO_TOKEN}}',
        '--allow-env',
        'DEMO_TOKEN',
      ],
      { input, env: { DEMO_TOKEN: secret } },
    );
    const res = byId(r.stdout);
    assert.equal(res.get('secure')?.status, 'passed', r.stdout);
    assert.equal(res.get('secure-flag')?.status, 'failed');
    const echo = res.get('echo')?.failures[0]?.actual ?? '';
    assert.match(echo, /"region":"eu"/);
    assert.match(echo, /\[redacted\]/);
    assert.equal(res.get('missing')?.error?.code, 'TEMPLATE');
    assert.match(res.get('missing')?.error?.message ?? '', /missing variable "nope" in request.url/);
    const files = [r.stdout, r.stderr, await readFile(journal, 'utf8'), await readFile(status, 'utf8')];
    for (const text of files) assert.equal(text.includes(secret), false);
  } finally {
    await dir.cleanup();
  }
});

test('--shard K/N runs the same ids as capi-split --shard: every id once across shards', async () => {
  const records = Array.from({ length: 40 }, (_, i) => get(`T${i}`, '/health'));
  const seen: string[] = [];
  for (const k of [1, 2, 3]) {
    const r = await runTool('capi-exec', ['--base-url', api.url, '--shard', `${k}/3`], { input: ndjson(records) });
    assert.equal(r.code, 0, r.stderr);
    const ids = (parseLines(r.stdout) as Result[]).map((x) => x.id);
    for (const id of ids) assert.ok(inShard(id, parseShard(`${k}/3`)));
    seen.push(...ids);
  }
  assert.deepEqual(seen.sort(), records.map((x) => x.id as string).sort());
});

test('an existing file given as an argument: the usage error suggests --in', async () => {
  const dir = await tempDir();
  try {
    const suite = join(dir.path, 'tests.ndjson');
    await writeFile(suite, '');
    const r = await runTool('capi-exec', [suite]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], `capi-exec: unexpected argument '${suite}' (did you mean --in ${suite}?)`);
    const other = await runTool('capi-exec', [join(dir.path, 'nope.ndjson')]);
    assert.equal(other.code, 2);
    assert.doesNotMatch(other.stderr, /did you mean/);
  } finally {
    await dir.cleanup();
  }
});

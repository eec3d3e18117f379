import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ExecuteOptions, execute } from './execute.js';
import { parseBaseUrl } from './target.js';
import { type FixtureServer, serve } from './test-support/fixture-server.js';

const servers: FixtureServer[] = [];
const dirs: string[] = [];
after(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const line = (id: string) => `${JSON.stringify({ id, request: { method: 'GET', url: `/${id}` } })}\n`;

async function* once(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

/** An input the run must not read: `sameBytes` says the check read's records serve. */
async function* unread(): AsyncGenerator<Buffer> {
  yield* [];
  throw new Error('the input was read a second time');
}

async function setUp(): Promise<{ url: string; dir: string }> {
  const server = await serve((_req, res) => res.end('ok'));
  servers.push(server);
  const dir = await mkdtemp(join(tmpdir(), 'capi-execute-'));
  dirs.push(dir);
  return { url: server.url, dir };
}

function options(url: string, dir: string, text: string, over: Partial<ExecuteOptions> = {}): ExecuteOptions {
  return {
    base: parseBaseUrl(url),
    headers: {},
    headerAllOrigins: false,
    env: {},
    allowEnv: { names: new Set(), prefixes: [] },
    runVars: {},
    retryUnsafe: false,
    concurrency: 4,
    rate: null,
    delayMs: 0,
    timeoutMs: 5000,
    maxBody: 1024,
    insecure: false,
    retries: 0,
    maxErrors: null,
    graceMs: 1000,
    batch: 'batch_0001',
    worker: 1,
    runId: 'r1',
    input: unread(),
    source: join(dir, 'batch_0001.ndjson'),
    reread: () => once(text),
    sameBytes: true,
    shard: null,
    journal: join(dir, 'j.ndjson'),
    fsync: false,
    force: false,
    status: join(dir, 'status.json'),
    control: null,
    total: null,
    log: () => {},
    ...over,
  };
}

test('sameBytes: the run takes the records of the check read and journals each once', async () => {
  const { url, dir } = await setUp();
  const text = ['a', 'b', 'c'].map(line).join('');
  const summary = await execute(options(url, dir, text), () => {});
  assert.equal(summary.passed, 3);
  const ids = (await readFile(join(dir, 'j.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id)
    .sort();
  assert.deepEqual(ids, ['a', 'b', 'c']);
  // a resume from the same bytes runs nothing again
  const again = await execute(options(url, dir, text), () => {});
  assert.equal(again.resumed, 3);
  assert.equal(again.passed, 0);
});

test('sameBytes: a repeated id is still refused before any test runs', async () => {
  const { url, dir } = await setUp();
  const text = ['a', 'b', 'a'].map(line).join('');
  await assert.rejects(
    execute(options(url, dir, text), () => {}),
    /duplicate id "a"/,
  );
  assert.equal(await readFile(join(dir, 'j.ndjson'), 'utf8').catch(() => ''), '');
});

test('without sameBytes the input is read for the run', async () => {
  const { url, dir } = await setUp();
  const text = ['a', 'b'].map(line).join('');
  await assert.rejects(
    execute(options(url, dir, text, { sameBytes: false }), () => {}),
    /read a second time/,
  );
});

test('a file read twice: the run reads it again; bytes changed since the check are checked again', async () => {
  const { url, dir } = await setUp();
  const checkedText = ['a', 'b', 'c'].map(line).join('');
  // the same bytes: every test runs once
  const same = await execute(options(url, dir, checkedText, { sameBytes: false, input: once(checkedText) }), () => {});
  assert.equal(same.passed, 3);
  // changed between the reads: the repeated id of the run's read is refused at its line
  const dir2 = join(dir, 'changed');
  const changed = ['a', 'b', 'a'].map(line).join('');
  await assert.rejects(
    execute(
      options(url, dir, checkedText, {
        sameBytes: false,
        input: once(changed),
        journal: join(dir2, 'j.ndjson'),
        status: join(dir2, 'status.json'),
      }),
      () => {},
    ),
    /:3: field "id": duplicate id "a" \(first at line 1\)/,
  );
});

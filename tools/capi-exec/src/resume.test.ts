import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

const scope = fileScope();

const ids = (text: string) => (parseLines(text) as Array<{ id: string }>).map((r) => r.id);
const lineCount = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).split('\n').length - 1;

test('resume after kill -9 in the middle: every id exactly once across journal + rerun', async () => {
  const s = await scope.server((_req, res) => setTimeout(() => res.end('ok'), 10));
  const dir = await scope.scratch();
  const suite = join(dir, 'suite.ndjson');
  const journal = join(dir, 'journal.ndjson');
  const all = Array.from({ length: 400 }, (_, i) => get(`T${String(i).padStart(4, '0')}`, '/x'));
  await writeFile(suite, ndjson(all));
  const args = ['--in', suite, '--base-url', s.url, '--journal', journal, '--concurrency', '8'];
  const first = spawnExec(args);
  await waitFor(() => s.hits.length >= 80);
  await lineCountAtLeast(journal, 40);
  first.child.kill('SIGKILL');
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL');
  const before = ids(await readFile(journal, 'utf8'));
  assert.ok(before.length > 0 && before.length < all.length, `journal had ${before.length}`);
  const second = await runTool('capi-exec', args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`resuming: ${before.length} tests .* are done`));
  const journaled = ids(await readFile(journal, 'utf8'));
  assert.equal(journaled.length, all.length);
  assert.deepEqual([...journaled].sort(), all.map((r) => r.id as string).sort());
  assert.deepEqual(
    ids(second.stdout).sort(),
    all
      .map((r) => r.id as string)
      .filter((id) => !before.includes(id))
      .sort(),
  );
  const third = await runTool('capi-exec', args);
  assert.equal(third.stdout, '', 'the same command again runs nothing');
  assert.equal(await lineCount(journal), all.length);
});

async function lineCountAtLeast(path: string, n: number): Promise<void> {
  for (let i = 0; i < 500 && (await lineCount(path)) < n; i++) await new Promise((r) => setTimeout(r, 10));
}

test('SIGTERM: in-flight tests finish within --grace, the rest are cut and run on resume; exit 143', async () => {
  let slowSeen = 0;
  const s = await scope.server((req, res) => {
    if (req.url === '/slow' && ++slowSeen === 1) setTimeout(() => res.end('late'), 8000);
    else if (req.url === '/medium') setTimeout(() => res.end('ok'), 300);
    else res.end('ok');
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const status = join(dir, 'status.json');
  const input = ndjson([
    get('slow', '/slow'),
    get('medium', '/medium'),
    ...Array.from({ length: 50 }, (_, i) => get(`q${i}`, '/q')),
  ]);
  const args = ['--base-url', s.url, '--journal', journal, '--status', status, '--grace', '2500', '--concurrency', '2'];
  const run = spawnExec(args, { input });
  await waitFor(() => s.hits.some((h) => h.path === '/medium'));
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const r = await run.done;
  const took = Date.now() - t0;
  assert.equal(r.code, 143, r.stderr);
  assert.ok(took < 6000, `stopped in ${took} ms`);
  assert.match(r.stderr, /SIGTERM: taking no new tests/);
  const done = ids(await readFile(journal, 'utf8'));
  assert.ok(done.includes('medium'), 'the in-flight test finished within the grace');
  assert.ok(!done.includes('slow'), 'the test past the grace was cut, not recorded');
  const beat = JSON.parse(await readFile(status, 'utf8'));
  assert.equal(beat.state, 'stopped');
  const rest = await runTool('capi-exec', args, { input });
  assert.equal(rest.code, 0, rest.stderr);
  const all = ids(await readFile(journal, 'utf8'));
  assert.equal(all.length, 52);
  assert.equal(new Set(all).size, 52);
});

test('SIGHUP (the terminal closed) is a graceful stop like SIGTERM: exit 143, journal and heartbeat closed', async () => {
  const s = await scope.server((_req, res) => setTimeout(() => res.end('ok'), 50));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const status = join(dir, 'status.json');
  const input = ndjson(Array.from({ length: 200 }, (_, i) => get(`h${i}`, '/h')));
  const run = spawnExec(['--base-url', s.url, '--journal', journal, '--status', status, '--concurrency', '2'], {
    input,
  });
  await waitFor(() => s.hits.length >= 4);
  run.child.kill('SIGHUP');
  const r = await run.done;
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /SIGHUP: taking no new tests/);
  assert.equal(JSON.parse(await readFile(status, 'utf8')).state, 'stopped');
  const done = ids(await readFile(journal, 'utf8'));
  assert.ok(done.length > 0 && done.length < 200, `${done.length} journaled`);
});

test('a changed suite is refused on resume, naming what changed; --force resumes', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const suite = join(dir, 'suite.ndjson');
  const journal = join(dir, 'j.ndjson');
  await writeFile(suite, ndjson([get('a', '/a'), get('b', '/b'), get('c', '/c')]));
  const args = ['--in', suite, '--base-url', s.url, '--journal', journal];
  assert.equal((await runTool('capi-exec', args)).code, 0);
  await writeFile(
    suite,
    ndjson([get('a', '/a'), get('b', '/b2'), get('c', '/c', { expect: { body: 'ok' } }), get('d', '/d')]),
  );
  const status = join(dir, 'status.json');
  const refused = await runTool('capi-exec', [...args, '--status', status]);
  assert.equal(refused.code, 2);
  // The heartbeat starts before the journal is read, and says how the refusal ended.
  assert.equal(JSON.parse(await readFile(status, 'utf8')).state, 'failed');
  assert.match(
    refused.stderr,
    /cannot resume: 2 finished tests changed .*b \(request changed\), c \(expectations changed\)/,
  );
  assert.equal(refused.stdout, '');
  assert.equal(await lineCount(journal), 3, 'nothing ran');
  const piped = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], {
    input: await readFile(suite, 'utf8'),
  });
  assert.equal(piped.code, 2, 'stdin cannot be read twice: refused at the first changed test');
  const forced = await runTool('capi-exec', [...args, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(ids(forced.stdout), ['d']);
});

test('with a journal, a duplicate id is bad input (exit 2): the journal holds each id once', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson([
    get('a', '/a'),
    get('b', '/b', { source: { file: 'suite.csv', line: 3 } }),
    get('b', '/b', { source: { file: 'suite.csv', line: 9 } }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal], { input });
  assert.equal(r.code, 2);
  // Named at the input line where it came again (stdin cannot be read twice, so the tests
  // before it ran and are journaled); the suite row follows in parentheses.
  assert.match(r.stderr, /capi-exec: <stdin>:3: field "id": duplicate id "b" \(first at line 2; suite.csv:9\)/);
  assert.deepEqual(ids(await readFile(journal, 'utf8')).sort(), ['a', 'b']);
});

test('with a journal and --in FILE, a duplicate id is refused before any test runs, naming the file line', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const suite = join(dir, 'dupin.ndjson');
  await writeFile(
    suite,
    ndjson([
      get('T0001', '/a', { source: { file: 'suite.csv', line: 2 } }),
      get('T0002', '/b'),
      get('T0003', '/c'),
      get('T0001', '/a', { source: { file: 'suite.csv', line: 2 } }),
    ]),
  );
  const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal, '--in', suite]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /dupin\.ndjson:4: field "id": duplicate id "T0001" \(first at line 1; suite\.csv:2\)/);
  assert.equal(s.hits.length, 0, 'no test ran');
  assert.equal(r.stdout, '');
});

test('a journal written for another --shard is refused unless --force', async () => {
  const s = await scope.server((_req, res) => res.end('ok'));
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson(Array.from({ length: 10 }, (_, i) => get(`t${i}`, '/x')));
  const first = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal, '--shard', '1/2'], { input });
  assert.equal(first.code, 0, first.stderr);
  const meta = JSON.parse(await readFile(`${journal}.meta.json`, 'utf8'));
  assert.equal(meta.shard, '1/2');
  const other = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal, '--shard', '2/2'], { input });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /cannot resume: the journal was written with --shard 1\/2, this run has 2\/2/);
});

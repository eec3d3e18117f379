import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileScope, get, ndjson, spawnExec } from './test-support/fixtures.js';

/**
 * One corrupt line in the middle of a journal no longer blocks the resume: the line is
 * moved, as it was, to `<journal>.bad` and said (file, line, count); the test it held runs
 * again. A torn last line is still cut as before.
 */

const scope = fileScope();

test('a resume moves malformed middle lines to JOURNAL.bad, says so, and runs their tests again', async () => {
  const dir = await scope.scratch();
  const server = await scope.server((_req, res) => res.end('ok'));
  const journal = join(dir, 'j.ndjson');
  const tests = ['A', 'B', 'C', 'D'].map((id) => get(id, `/t/${id}`));
  const first = await spawnExec(['--base-url', server.url, '--journal', journal], { input: ndjson(tests.slice(0, 3)) })
    .done;
  assert.equal(first.code, 0, first.stderr);
  const [a, b, c] = readFileSync(journal, 'utf8').trimEnd().split('\n');
  // B's line is damaged, a foreign object sits after it, C's line is whole, a torn tail ends it
  const garbage = `${(b as string).slice(0, 25)}\u0000garbage`;
  writeFileSync(journal, `${a}\n${garbage}\n{"not":"a result"}\n${c}\n{"id":"D","sta`);
  const r = await spawnExec(['--base-url', server.url, '--journal', journal], { input: ndjson(tests) }).done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: ${journal}:2: malformed JSON`));
  assert.match(r.stderr, new RegExp(`warning: ${journal}:3: field "id": a journal line must be a result record`));
  assert.match(
    r.stderr,
    new RegExp(`moved 2 malformed journal lines to ${journal}\\.bad; the tests they held run again`),
  );
  assert.match(r.stderr, new RegExp(`${journal}:5: ignored a torn last line`));
  assert.equal(readFileSync(`${journal}.bad`, 'utf8'), `${garbage}\n{"not":"a result"}\n`);
  const ids = readFileSync(journal, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);
  assert.deepEqual(ids.sort(), ['A', 'B', 'C', 'D'], 'each test once: B and D ran again, A and C did not');
});

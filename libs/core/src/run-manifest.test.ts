import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RUN_MANIFEST_MAX_BYTES, RunManifestError, readRunManifest, runManifestProblem } from './run-manifest.js';

const good = {
  id: 'capi_test_20260101_103000',
  method: 'nohup',
  suite: { file: '/abs/suite.csv', sha256: 'ab' },
  total: 20,
  batchSize: 10,
  batches: 2,
  parallel: 4,
  options: { rate: null, concurrency: null, execArgs: [], maxRestarts: 3, onFinish: null },
  created: '2026-01-01T10:30:00.000Z',
  pid: null,
  session: null,
  state: 'completed',
  verdict: 'passed',
  finished: '2026-01-01T10:31:00.000Z',
};

test('runManifestProblem: a run.json as capi writes it, and older ones (options empty, no verdict or session), pass', () => {
  assert.equal(runManifestProblem(good), null);
  const { verdict, session, finished, ...older } = good;
  assert.equal(runManifestProblem({ ...older, options: {} }), null);
  assert.equal(runManifestProblem({ ...good, stopSignal: 'SIGINT', state: 'stopped', maxBatchSize: 1000 }), null);
});

test('runManifestProblem: the first wrong field is named, with what it holds', () => {
  const cases: Array<[unknown, string]> = [
    [[1], 'not a JSON object (a list)'],
    [null, 'not a JSON object (null)'],
    ['x', 'not a JSON object ("x")'],
    [{ ...good, state: 'bogus' }, 'field "state": not one of created, running, completed, failed, stopped ("bogus")'],
    [{ ...good, state: undefined }, 'field "state": missing one of created, running, completed, failed, stopped'],
    [{ ...good, total: '20' }, 'field "total": not a whole number of tests ("20")'],
    [{ ...good, batches: -1 }, 'field "batches": not a whole number of batches (-1)'],
    [{ ...good, pid: 'abc' }, 'field "pid": not a process id or null ("abc")'],
    [{ ...good, suite: undefined }, 'field "suite": missing'],
    [{ ...good, suite: { sha256: 'ab' } }, 'field "suite.file": missing the suite file path'],
    [{ ...good, options: [] }, 'field "options": not an object'],
    [{ ...good, options: { execArgs: [1] } }, 'field "options.execArgs": not a list of strings ([1])'],
    [{ ...good, options: { maxRestarts: 'x' } }, 'field "options.maxRestarts": not a whole number ("x")'],
  ];
  for (const [m, problem] of cases) assert.equal(runManifestProblem(m), problem);
});

test('readRunManifest: missing, empty, malformed, too big and damaged files are refused with exit 2 naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-run-manifest-'));
  try {
    const file = join(dir, 'run.json');
    await assert.rejects(readRunManifest(file), { exitCode: 2, message: `${file}: no such file` });
    await writeFile(file, JSON.stringify(good));
    assert.deepEqual(await readRunManifest(file), good);
    for (const [text, problem] of [
      ['', /run\.json: empty: /],
      ['{"id"', /run\.json: malformed JSON: /],
      [JSON.stringify({ ...good, batches: '2' }), /run\.json: field "batches": not a whole number/],
    ] as const) {
      await writeFile(file, text);
      await assert.rejects(readRunManifest(file), (err: unknown) => {
        assert.ok(err instanceof RunManifestError);
        assert.equal(err.exitCode, 2);
        assert.match(err.message, problem);
        return true;
      });
    }
    // bigger than any run.json: refused by its size, never read into a string
    await writeFile(file, '{"id":"');
    await truncate(file, RUN_MANIFEST_MAX_BYTES + 1);
    await assert.rejects(readRunManifest(file), {
      exitCode: 2,
      message: new RegExp(`${RUN_MANIFEST_MAX_BYTES + 1} bytes, more than`),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

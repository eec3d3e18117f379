import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createTeardownTally, lastResults } from './last-results.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function journal(lines: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'capi-last-results-'));
  dirs.push(dir);
  const path = join(dir, 'batch_0001.ndjson');
  await writeFile(path, lines.join('\n'));
  return path;
}

test("each test's last line wins; setup and teardown go to onPhaseResult, other lines to onNotResult", async () => {
  const path = await journal([
    JSON.stringify({ id: 'A', status: 'failed' }),
    JSON.stringify({ id: 'login', status: 'passed', phase: 'setup', response: { status: 200 } }),
    JSON.stringify({ id: 'B', status: 'passed' }),
    JSON.stringify({ note: 'not a result' }),
    JSON.stringify({ id: 'A', status: 'passed' }),
    JSON.stringify({ id: 'logout', status: 'error', phase: 'teardown' }),
    '{"id":"C","sta', // torn last line: not a result
  ]);
  const phases: string[] = [];
  const notResults: number[] = [];
  const last = await lastResults(path, (r) => r.status, {
    onPhaseResult: (r) => phases.push(`${r.id} ${r.status}`),
    onNotResult: (line) => notResults.push(line),
  });
  assert.deepEqual(
    [...last],
    [
      ['A', 'passed'],
      ['B', 'passed'],
    ],
  );
  assert.deepEqual(phases, ['login passed', 'logout error']);
  assert.deepEqual(notResults, [4]);
});

test('a journal that does not exist reads as empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-last-results-'));
  dirs.push(dir);
  assert.equal((await lastResults(join(dir, 'none.ndjson'), (r) => r.id)).size, 0);
});

test('createTeardownTally: the last result of each teardown row per output; other phases ignored', () => {
  const t = createTeardownTally();
  t.add({ id: 'bye', status: 'failed', phase: 'teardown' }, 'batch_0001');
  t.add({ id: 'bye', status: 'passed', phase: 'teardown' }, 'batch_0002');
  t.add({ id: 'login', status: 'error', phase: 'setup' }, 'batch_0001');
  t.add({ id: 'T1', status: 'failed' }, 'batch_0001');
  assert.equal(t.failed, 1, 'batch_0001 failed its teardown; batch_0002 did not');
  t.add({ id: 'bye', status: 'passed', phase: 'teardown' }, 'batch_0001');
  assert.equal(t.failed, 0, 'a resume whose teardown passed replaces the failed one');
  t.add({ id: 'bye', status: 'error', phase: 'teardown' }, 'batch_0002');
  t.add({ id: 'bye', status: 'error', phase: 'teardown' }, 'batch_0002');
  assert.equal(t.failed, 1);
});

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { classify, findWatchTarget, newestRun } from './watch-target.js';

const root = await mkdtemp(join(tmpdir(), 'capi-watch-target-'));
after(() => rm(root, { recursive: true, force: true }));

async function run(runs: string, id: string): Promise<string> {
  const dir = join(runs, id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'run.json'), '{}');
  return dir;
}

test('the newest run is the latest link, else the greatest run id holding run.json', async () => {
  const runs = join(root, 'runs1');
  assert.equal(await newestRun(runs), null, 'no runs folder: no run');
  await run(runs, 'capi_test_20260101_100000');
  const newer = await run(runs, 'capi_test_20260102_100000');
  await mkdir(join(runs, 'capi_test_20260103_100000'));
  assert.equal(await newestRun(runs), newer);
  await symlink('capi_test_20260101_100000', join(runs, 'latest'));
  assert.equal(await newestRun(runs), join(runs, 'capi_test_20260101_100000'));
});

test('RUN is a folder or a run id under the runs folder; an unknown one is a usage error', async () => {
  const runs = join(root, 'runs2');
  const dir = await run(runs, 'capi_test_1');
  const byId = await findWatchTarget({ run: 'capi_test_1', runsDir: runs, cwd: root });
  assert.deepEqual(byId, { kind: 'run', id: 'capi_test_1', dir });
  const byPath = await findWatchTarget({ run: dir, runsDir: join(root, 'elsewhere'), cwd: root });
  assert.equal(byPath?.kind, 'run');
  await assert.rejects(findWatchTarget({ run: 'nope', runsDir: runs, cwd: root }), /run not found: "nope"/);
  assert.equal(await findWatchTarget({ runsDir: join(root, 'empty'), cwd: root }), null);
});

test('a bare capi-exec: --status/--journal, or a folder holding them, under one key', async () => {
  const dir = join(root, 'exec');
  await mkdir(dir);
  await writeFile(join(dir, 'st.json'), '{}');
  await writeFile(join(dir, 'res.ndjson'), '');
  const t = await findWatchTarget({ run: dir, runsDir: root, cwd: root });
  assert.equal(t?.kind, 'exec');
  assert.deepEqual(t && classify(t, join(dir, 'st.json')), { role: 'heartbeat', key: 'exec' });
  assert.deepEqual(t && classify(t, join(dir, 'res.ndjson')), { role: 'journal', key: 'exec' });
  const flags = await findWatchTarget({ status: 'st.json', journal: 'res.ndjson', runsDir: root, cwd: dir });
  assert.deepEqual(flags && classify(flags, join(dir, 'res.ndjson')), { role: 'journal', key: 'exec' });
  await assert.rejects(findWatchTarget({ run: dir, status: 'x', runsDir: root, cwd: root }), /not both/);
  await mkdir(join(root, 'emptyfolder'));
  await assert.rejects(
    findWatchTarget({ run: join(root, 'emptyfolder'), runsDir: root, cwd: root }),
    /not a run folder/,
  );
});

test('classify knows the run folder layout and ignores the rest', () => {
  const t = { kind: 'run' as const, id: 'r', dir: '/runs/r' };
  assert.deepEqual(classify(t, '/runs/r/results/batch_0002.ndjson'), { role: 'journal', key: 'batch_0002' });
  assert.deepEqual(classify(t, '/runs/r/status/batch_0002.json'), { role: 'heartbeat', key: 'batch_0002' });
  assert.deepEqual(classify(t, '/runs/r/logs/capi.log'), { role: 'log', key: 'capi' });
  assert.deepEqual(classify(t, '/runs/r/run.json'), { role: 'manifest', key: '' });
  assert.equal(classify(t, '/runs/r/batches/batch_0002.ndjson'), null);
  assert.equal(classify(t, '/runs/r/status/batch_0002.json.tmp-1-ab'), null);
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inShard, parseShard } from '@capi/core';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';
import { get, ndjson } from './test-support/fixtures.js';

let api: DemoApi;
before(async () => {
  api = await startDemoApi({});
});
after(async () => {
  killAll();
  await api.close();
});

type Result = { id: string; status: string; shard: string | null };
const records = Array.from({ length: 30 }, (_, i) => get(`T${i}`, '/health'));

test('--shard auto in a Kubernetes pod, a GitLab job and a GitHub matrix job: each runs its shard, all once', async () => {
  const jobs: Array<[Record<string, string>, string]> = [
    [{ JOB_COMPLETION_INDEX: '0', CAPI_SHARD_TOTAL: '3' }, '1/3'],
    [{ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' }, '2/3'],
    [{ CAPI_SHARD: '3/3' }, '3/3'],
  ];
  const seen: string[] = [];
  for (const [env, shard] of jobs) {
    const r = await runTool('capi-exec', ['--base-url', api.url, '--shard', 'auto'], { input: ndjson(records), env });
    assert.equal(r.code, 0, r.stderr);
    const results = parseLines(r.stdout) as Result[];
    for (const x of results) {
      assert.equal(x.shard, shard, 'the result names the shard it was resolved to');
      assert.ok(inShard(x.id, parseShard(shard)));
    }
    seen.push(...results.map((x) => x.id));
  }
  assert.deepEqual(seen.sort(), records.map((x) => x.id as string).sort());
});

test('--shard auto with a journal: the meta records K/N, and a retried pod with the same index resumes', async () => {
  const dir = await tempDir();
  try {
    const journal = join(dir.path, 'shard.ndjson');
    const env = { JOB_COMPLETION_INDEX: '1', CAPI_SHARD_TOTAL: '2' };
    const args = ['--base-url', api.url, '--shard', 'auto', '--journal', journal];
    const first = await runTool('capi-exec', args, { input: ndjson(records), env });
    assert.equal(first.code, 0, first.stderr);
    const meta = JSON.parse(await readFile(`${journal}.meta.json`, 'utf8')) as { shard: string };
    assert.equal(meta.shard, '2/2');
    const again = await runTool('capi-exec', args, { input: ndjson(records), env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(parseLines(again.stdout).length, 0, 'nothing run twice');
    // another index against the same journal is another shard: refused, as --shard 1/2 would be
    const other = await runTool('capi-exec', args, {
      input: ndjson(records),
      env: { JOB_COMPLETION_INDEX: '0', CAPI_SHARD_TOTAL: '2' },
    });
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--shard 2\/2, this run has 1\/2/);
  } finally {
    await dir.cleanup();
  }
});

test('--shard auto with no CI variable, or a bad one, is exit 2 naming it, before anything is sent', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /^capi-exec: --shard auto: no shard in the environment \(looked for CAPI_SHARD,/],
    [
      { JOB_COMPLETION_INDEX: '3', CAPI_SHARD_TOTAL: '3' },
      /JOB_COMPLETION_INDEX=3 is out of range for CAPI_SHARD_TOTAL=3/,
    ],
    [{ CI_NODE_INDEX: '1' }, /CI_NODE_INDEX is set \(GitLab CI parallel\) but CI_NODE_TOTAL is not/],
    [{ CAPI_SHARD: '1-of-2' }, /CAPI_SHARD takes K\/N/],
  ];
  for (const [env, want] of cases) {
    const r = await runTool('capi-exec', ['--base-url', api.url, '--shard', 'auto'], { input: ndjson(records), env });
    assert.equal(r.code, 2, JSON.stringify(env));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, want);
  }
});

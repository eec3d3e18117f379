import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestRecord } from '@capi/core';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';

let tmp: { path: string; cleanup: () => Promise<void> };
let suite: string;
before(async () => {
  tmp = await tempDir('capi-split-shard-auto-');
  suite = join(tmp.path, 'suite.csv');
  let text = 'id,name,url\n';
  for (let i = 0; i < 120; i++) text += `T${i},n${i},/items/${i}\n`;
  await writeFile(suite, text);
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const ids = (stdout: string) => (parseLines(stdout) as TestRecord[]).map((r) => r.id);
const split = (args: string[], env: Record<string, string>) => runTool('capi-split', [suite, ...args], { env });

test('--shard auto takes the shard of each CI from its variables: the same ids as --shard K/N', async () => {
  const ci: Array<[Record<string, string>, string]> = [
    [{ CAPI_SHARD: '2/3' }, '2/3'],
    [{ JOB_COMPLETION_INDEX: '0', CAPI_SHARD_TOTAL: '3' }, '1/3'],
    [{ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }, '3/3'],
    [{ CIRCLE_NODE_INDEX: '1', CIRCLE_NODE_TOTAL: '3' }, '2/3'],
    [{ BUILDKITE_PARALLEL_JOB: '2', BUILDKITE_PARALLEL_JOB_COUNT: '3' }, '3/3'],
  ];
  for (const [env, shard] of ci) {
    const auto = await split(['--shard', 'auto'], env);
    const explicit = await split(['--shard', shard], {});
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(auto.stderr, '');
    assert.ok(ids(auto.stdout).length > 20, JSON.stringify(env));
    assert.deepEqual(ids(auto.stdout), ids(explicit.stdout), JSON.stringify(env));
  }
  // the shards of a GitLab job set cover the suite once
  const all: string[] = [];
  for (const k of ['1', '2', '3'])
    all.push(...ids((await split(['--shard', 'auto'], { CI_NODE_INDEX: k, CI_NODE_TOTAL: '3' })).stdout));
  assert.equal(all.length, 120);
  assert.equal(new Set(all).size, 120);
});

test('--shard auto: nothing set, or a bad value, is exit 2 naming the variable; nothing on stdout', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      {},
      /^capi-split: --shard auto: no shard in the environment \(looked for CAPI_SHARD, JOB_COMPLETION_INDEX\/CAPI_SHARD_TOTAL, CI_NODE_INDEX\/CI_NODE_TOTAL/,
    ],
    [
      { CI_NODE_INDEX: '4', CI_NODE_TOTAL: '3' },
      /^capi-split: --shard auto: CI_NODE_INDEX=4 is out of range for CI_NODE_TOTAL=3/,
    ],
    [
      { JOB_COMPLETION_INDEX: '1' },
      /^capi-split: --shard auto: JOB_COMPLETION_INDEX is set .* but CAPI_SHARD_TOTAL is not/,
    ],
    [{ CAPI_SHARD: '3/2' }, /^capi-split: --shard auto: CAPI_SHARD takes K\/N/],
  ];
  for (const [env, want] of cases) {
    const r = await split(['--shard', 'auto'], env);
    assert.equal(r.code, 2, JSON.stringify(env));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, want);
  }
});

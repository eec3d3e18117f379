import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.js';
import { fnv1a, formatShard, inShard, parseShard, shardFlag, shardFromEnv } from './shard.js';

test('fnv1a is the standard 32-bit FNV-1a', () => {
  // Reference values of the FNV-1a test suite.
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('parseShard reads K/N and refuses anything else, naming the flag', () => {
  assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
  assert.deepEqual(parseShard(' 1/1 '), { index: 1, count: 1 });
  for (const bad of ['0/3', '4/3', '1/0', '3', 'a/b', '-1/3', '1/3/4', '']) {
    assert.throws(
      () => parseShard(bad, '--shard'),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, bad);
        assert.match(err.message, /--shard takes K\/N with 1 <= K <= N, or auto/);
        return true;
      },
    );
  }
  assert.equal(formatShard({ index: 3, count: 8 }), '3/8');
});

test('shards partition ids: each id in exactly one shard, deterministically', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `T${String(i).padStart(5, '0')}`);
  for (const count of [1, 2, 3, 7]) {
    const sizes = Array.from({ length: count }, () => 0);
    for (const id of ids) {
      const homes = [];
      for (let k = 1; k <= count; k++) if (inShard(id, { index: k, count })) homes.push(k);
      assert.equal(homes.length, 1, `${id} in ${homes.length} shards of ${count}`);
      sizes[homes[0]! - 1]!++;
      assert.equal(inShard(id, { index: homes[0]!, count }), true, 'same answer twice');
    }
    // A fair hash: no shard is far from its share.
    for (const size of sizes) assert.ok(Math.abs(size - ids.length / count) < (ids.length / count) * 0.15, `${sizes}`);
  }
});

/** The UsageError message of `fn`, or a failure when it does not throw one. */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail('no UsageError');
}

test('--shard auto reads each CI: CAPI_SHARD, Kubernetes, GitLab, CircleCI, Buildkite', () => {
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ CAPI_SHARD: '3/4' }, '3/4'],
    [{ CAPI_SHARD: ' 1/1 ' }, '1/1'],
    [{ JOB_COMPLETION_INDEX: '0', CAPI_SHARD_TOTAL: '5' }, '1/5'],
    [{ JOB_COMPLETION_INDEX: '4', CAPI_SHARD_TOTAL: '5' }, '5/5'],
    [{ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3' }, '1/3'],
    [{ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }, '3/3'],
    [{ CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }, '1/2'],
    [{ BUILDKITE_PARALLEL_JOB: '6', BUILDKITE_PARALLEL_JOB_COUNT: '7' }, '7/7'],
    // CAPI_SHARD is what the workflow says: it wins over a CI's own variables
    [{ CAPI_SHARD: '2/2', CI_NODE_INDEX: '1', CI_NODE_TOTAL: '4' }, '2/2'],
    // an empty variable counts as unset (a workflow's `CAPI_SHARD: ''`)
    [{ CAPI_SHARD: '', CI_NODE_INDEX: '2', CI_NODE_TOTAL: '4' }, '2/4'],
  ];
  for (const [env, want] of cases) {
    assert.equal(formatShard(shardFromEnv(env)), want, JSON.stringify(env));
    assert.equal(formatShard(shardFlag('auto', env)), want);
  }
  // K/N is read as always, whatever the environment says
  assert.deepEqual(shardFlag('2/3', { CAPI_SHARD: '1/1' }), { index: 2, count: 3 });
});

test('--shard auto with nothing set names every variable it looked for', () => {
  const msg = usageMessage(() => shardFlag('auto', { PATH: '/bin' }));
  assert.match(msg, /^--shard auto: no shard in the environment/);
  for (const name of ['CAPI_SHARD', 'JOB_COMPLETION_INDEX', 'CAPI_SHARD_TOTAL', 'CI_NODE_INDEX', 'CI_NODE_TOTAL'])
    assert.ok(msg.includes(name), `${name} in ${msg}`);
});

test('--shard auto: out-of-range, half-set or malformed values are usage errors naming the variable', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ CAPI_SHARD: '5/4' }, /CAPI_SHARD takes K\/N/],
    [{ CAPI_SHARD: '0/4' }, /CAPI_SHARD takes K\/N/],
    [{ CAPI_SHARD: 'auto' }, /CAPI_SHARD takes K\/N/],
    [
      { JOB_COMPLETION_INDEX: '5', CAPI_SHARD_TOTAL: '5' },
      /JOB_COMPLETION_INDEX=5 is out of range for CAPI_SHARD_TOTAL=5 .*counts from 0/,
    ],
    [
      { JOB_COMPLETION_INDEX: '0' },
      /JOB_COMPLETION_INDEX is set \(Kubernetes Indexed Job\) but CAPI_SHARD_TOTAL is not/,
    ],
    [{ CAPI_SHARD_TOTAL: '3' }, /CAPI_SHARD_TOTAL is set .* but JOB_COMPLETION_INDEX is not/],
    [{ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX=0 is out of range for CI_NODE_TOTAL=3 .*counts from 1/],
    [{ CI_NODE_INDEX: '4', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX=4 is out of range/],
    [{ CI_NODE_INDEX: '2' }, /CI_NODE_TOTAL is not/],
    [{ CI_NODE_INDEX: 'x', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX is not a whole number \(got "x"\)/],
    [{ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '0' }, /CI_NODE_TOTAL must be at least 1/],
    [{ CIRCLE_NODE_INDEX: '-1', CIRCLE_NODE_TOTAL: '2' }, /CIRCLE_NODE_INDEX is not a whole number/],
    [{ BUILDKITE_PARALLEL_JOB: '2', BUILDKITE_PARALLEL_JOB_COUNT: '2' }, /BUILDKITE_PARALLEL_JOB=2 is out of range/],
  ];
  for (const [env, want] of cases) {
    const msg = usageMessage(() => shardFlag('auto', env, '--shard'));
    assert.match(msg, /^--shard auto: /, msg);
    assert.match(msg, want, JSON.stringify(env));
  }
});

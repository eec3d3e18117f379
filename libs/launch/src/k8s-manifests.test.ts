import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '@capi/core';
import { checkK8sName, escapeKubelet, jobManifest, jobNameFor, podRate } from './k8s-manifests.js';

test('jobNameFor makes a Kubernetes name of any suite file name', () => {
  assert.equal(jobNameFor('suites/Night Suite.csv'), 'capi-night-suite');
  assert.equal(jobNameFor('/x/api_tests.v2.csv'), 'capi-api-tests-v2');
  assert.equal(jobNameFor('ÜBER.csv'), 'capi-ber');
  assert.equal(jobNameFor('___.csv'), 'capi-suite');
  const long = jobNameFor(`${'a'.repeat(40)}-${'b'.repeat(40)}.csv`);
  assert.ok(long.length <= 52, long);
  assert.doesNotThrow(() => checkK8sName(long, '--job-name'));
});

test('checkK8sName refuses what the API server would, naming the flag', () => {
  for (const bad of ['', 'Caps', '-lead', 'trail-', 'a_b', 'a.b', 'x'.repeat(53)])
    assert.throws(
      () => checkK8sName(bad, '--pvc'),
      (e: unknown) => e instanceof UsageError && /^--pvc takes a Kubernetes name/.test(e.message),
    );
  assert.equal(checkK8sName('results-01', '--pvc'), 'results-01');
});

test('escapeKubelet doubles every $, so kubelet hands the text over as written', () => {
  assert.equal(escapeKubelet('X-Price: $(HOME) $$ $5'), 'X-Price: $$(HOME) $$$$ $$5');
  assert.equal(escapeKubelet('plain'), 'plain');
});

test('podRate divides the Job rate by the pods that run at once', () => {
  assert.equal(podRate('50/s', 3), '16.666667/s');
  assert.equal(podRate('600/m', 4), '2.5/s');
  assert.equal(podRate('20', 4), '5/s');
  assert.equal(podRate('1/h', 4), '0.25/h');
  assert.equal(podRate('7200/h', 1), '2/s');
  assert.throws(() => podRate('0.000001/h', 100), /less than one test an hour each/);
});

test('the pod command passes every flag after the script, never through the shell', () => {
  const job = jobManifest({
    name: 'capi-x',
    image: 'img',
    shards: 12,
    parallelism: 4,
    backoffLimitPerIndex: 2,
    pvc: 'data',
    secrets: [],
    execArgs: ['--header', "X-Q: a'b; rm -rf / $(id)"],
    tests: '{}\n',
  });
  const command = job.spec.template.spec.containers[0]?.command ?? [];
  assert.deepEqual(command.slice(0, 2), ['sh', '-c']);
  assert.deepEqual(command.slice(3), ['capi-exec', '--header', "X-Q: a'b; rm -rf / $$(id)"]);
  assert.match(command[2] ?? '', /printf '%02d'/, 'shard numbers padded to the width of 12');
  assert.match(command[2] ?? '', /"\$\$@"/);
});

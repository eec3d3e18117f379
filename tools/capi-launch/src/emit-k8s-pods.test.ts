import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { binPath, collect, killAll, parseLines, runTool, tempDir, testEnv } from '@capi/testkit';
import { demoFor, demoSuite } from './test-support/harness.js';

/**
 * The pods of an emitted Job, played without a cluster: the container's command as
 * kubelet hands it over ($(VAR) expanded from the container's env, `$$` → `$`), the
 * volumes as folders, JOB_COMPLETION_INDEX as the Job controller sets it, capi-exec on PATH.
 */
const demo = demoFor(0);
let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-emit-pods-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: manifests are read back as plain JSON
type Json = any;

/** kubelet's expansion of command and args (k8s.io/kubernetes third_party/forked/golang/expansion). */
function kubelet(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) =>
    m === '$$' ? '$' : name !== undefined && name in env ? (env[name] as string) : m,
  );
}

function runPod(job: Json, index: number, mounts: { data: string; suite: string }, bin: string) {
  const c = job.spec.template.spec.containers[0];
  const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) };
  for (const e of c.env) if (e.value !== undefined) env[e.name] = e.value;
  const [sh, ...args] = (c.command as string[]).map((w) =>
    kubelet(w, env).replaceAll('/capi/data', mounts.data).replaceAll('/capi/suite', mounts.suite),
  );
  const child = spawn(sh as string, args, {
    env: testEnv({ ...env, PATH: `${bin}:${process.env.PATH}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

test('each pod of the emitted Job runs its shard into its journal; a retried pod resumes; capi-merge joins them', async () => {
  const suite = demoSuite(tmp.path, 60, ['T0007']);
  const dir = join(tmp.path, 'k8s');
  const r = await runTool('capi-launch', [
    suite,
    '--emit',
    'k8s',
    dir,
    '--image',
    'i',
    '--pvc',
    'results',
    '--shards',
    '3',
    '--base-url',
    demo.url,
    '-H',
    'X-Note: $(HOME) stays as written',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const job = JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8'));
  const cm = JSON.parse(readFileSync(join(dir, 'configmap.json'), 'utf8'));
  const mounts = { data: join(tmp.path, 'pvc'), suite: join(tmp.path, 'cm') };
  mkdirSync(mounts.suite);
  writeFileSync(join(mounts.suite, 'tests.ndjson'), cm.data['tests.ndjson']);
  const bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'capi-exec'), `#!/bin/sh\nexec '${process.execPath}' '${binPath('capi-exec')}' "$@"\n`);
  chmodSync(join(bin, 'capi-exec'), 0o755);

  const codes: number[] = [];
  for (const k of [0, 1, 2]) {
    const pod = await runPod(job, k, mounts, bin);
    assert.equal(pod.stdout, '', 'results go to the journal, not the pod log');
    assert.match(pod.stderr, /capi-exec: /, pod.stderr);
    codes.push(pod.code as number);
  }
  const results = join(mounts.data, 'capi-demo-suite', 'results');
  const journals = readdirSync(results)
    .filter((f) => f.endsWith('.ndjson'))
    .sort();
  assert.deepEqual(journals, ['shard-1.ndjson', 'shard-2.ndjson', 'shard-3.ndjson']);
  const failing = journals.findIndex((f) => readFileSync(join(results, f), 'utf8').includes('"T0007"'));
  for (const [i, code] of codes.entries())
    assert.equal(code, i === failing ? 1 : 0, `pod ${i}: tests failed → 1 (FailIndex), else 0`);

  // a retried pod of index 0 on the same volume, after its predecessor died holding the lock
  const lockOf = join(results, 'shard-1.ndjson.lock');
  writeFileSync(lockOf, JSON.stringify({ pid: 1, host: 'capi-demo-suite-0-old', since: new Date().toISOString() }));
  const before = readFileSync(join(results, 'shard-1.ndjson'), 'utf8');
  const retry = await runPod(job, 0, mounts, bin);
  assert.equal(retry.code, failing === 0 ? 1 : 0, retry.stderr);
  assert.equal(readFileSync(join(results, 'shard-1.ndjson'), 'utf8'), before, 'nothing ran twice');

  const merged = await runTool(
    'capi-merge',
    [join(results, '*.ndjson'), '--suite', suite, '--junit', 'junit.xml', '--html', 'report.html'],
    { cwd: tmp.path },
  );
  assert.equal(merged.code, 1, 'T0007 failed: the verdict is the merge’s');
  assert.match(readFileSync(join(tmp.path, 'junit.xml'), 'utf8'), /<testsuite name="shard-1"/);
  const ids = new Map<string, number>();
  for (const f of journals)
    for (const rec of parseLines(readFileSync(join(results, f), 'utf8')) as Array<{
      id: string;
      batch: string;
      shard: string;
    }>) {
      ids.set(rec.id, (ids.get(rec.id) ?? 0) + 1);
      assert.equal(rec.batch, f.replace('.ndjson', ''));
      assert.equal(rec.shard, `${Number(f.slice(6, 7))}/3`);
    }
  assert.equal(ids.size, 60);
  assert.ok(
    [...ids.values()].every((n) => n === 1),
    'every test once',
  );
});

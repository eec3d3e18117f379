import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { killAll, parseLines, repoRoot, runTool, tempDir } from '@capi/testkit';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { unknownFields } from './test-support/k8s-strict.js';

// biome-ignore lint/suspicious/noExplicitAny: manifests are read back as plain JSON
type Json = any;

let tmp: { path: string; cleanup: () => Promise<void> };
let suite: string;
const SECRET = 'tok-9f3e1c77-do-not-write';
before(async () => {
  tmp = await tempDir('capi-emit-k8s-');
  suite = join(tmp.path, 'Night Suite.csv');
  let text = 'id,name,url,expect_status\n';
  for (let i = 1; i <= 40; i++) text += `T${i},item ${i},/items/${i},200\n`;
  writeFileSync(suite, text);
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const base = ['--image', 'registry.example/capi:0.1.0', '--pvc', 'capi-results', '--base-url', 'http://api:8080'];
const emit = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runTool('capi-launch', [suite, '--emit', 'k8s', join(tmp.path, dir), ...base, ...args], {
    cwd: tmp.path,
    env: { API_TOKEN: SECRET, ...env },
  });
const read = (dir: string, f: string): Json => JSON.parse(readFileSync(join(tmp.path, dir, f), 'utf8'));

/** Every file of an emit, validated against the Kubernetes schema of kubernetes-models' release. */
function validateAll(dir: string): { job: Json; cm: Json | null; pod: Json } {
  const job = read(dir, 'job.json');
  new Job(job).validate();
  assert.deepEqual(unknownFields(job, 'kubernetes-models/batch/v1/Job'), []);
  const cm = existsSync(join(tmp.path, dir, 'configmap.json')) ? read(dir, 'configmap.json') : null;
  if (cm) new ConfigMap(cm).validate();
  if (cm) assert.deepEqual(unknownFields(cm, 'kubernetes-models/v1/ConfigMap'), []);
  const pod = read(dir, 'collect/pod.json');
  new Pod(pod).validate();
  assert.deepEqual(unknownFields(pod, 'kubernetes-models/v1/Pod'), []);
  return { job, cm, pod };
}

test('the validator is real: a wrong field type or enum value in a Job is refused', () => {
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x' } } as Json;
  const spec = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } };
  assert.doesNotThrow(() =>
    new Job({ ...job, spec: { ...spec, completionMode: 'Indexed', completions: 2 } }).validate(),
  );
  assert.throws(() => new Job({ ...job, spec: { ...spec, completionMode: 'Indexd' } }).validate());
  assert.throws(() => new Job({ ...job, spec: { ...spec, completions: '2' } }).validate());
  // unknown fields pass its validators; the typings walk names them, however deep
  const typo = { ...job, spec: { ...spec, backoffLimitPerIndx: 1 } };
  assert.doesNotThrow(() => new Job(typo).validate());
  assert.deepEqual(unknownFields(typo, 'kubernetes-models/batch/v1/Job'), ['$.spec.backoffLimitPerIndx']);
  const deep = {
    ...job,
    spec: { template: { spec: { containers: [{ name: 'c', image: 'i', envFrom: [{ secretRef: { nam: 'x' } }] }] } } },
  };
  assert.deepEqual(unknownFields(deep, 'kubernetes-models/batch/v1/Job'), [
    '$.spec.template.spec.containers[0].envFrom[0].secretRef.nam',
  ]);
});

test('--emit k8s with a Secret: an Indexed Job, a ConfigMap with the test records, no secret in any file', async () => {
  const r = await emit('with-secret', [
    '--shards',
    '3',
    '--secret',
    'api-creds',
    '-H',
    'Authorization: Bearer {{env.API_TOKEN}}',
    '--rate',
    '60/s',
    '--concurrency',
    '8',
    '--max-restarts',
    '2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /wrote Indexed Job capi-night-suite: 40 tests in 3 shards, 3 pods at once, --rate 20\/s each; nothing was started/,
  );
  const { job, cm } = validateAll('with-secret');
  assert.deepEqual(
    r.stdout.trim().split('\n'),
    ['configmap.json', 'job.json', 'collect/pod.json', 'HOWTO.txt'].map((f) => join(tmp.path, 'with-secret', f)),
  );
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.equal(job.spec.completions, 3);
  assert.equal(job.spec.parallelism, 3);
  assert.equal(job.spec.backoffLimitPerIndex, 2);
  assert.equal(job.spec.template.spec.restartPolicy, 'Never');
  const c = job.spec.template.spec.containers[0];
  assert.deepEqual(c.envFrom, [{ secretRef: { name: 'api-creds' } }]);
  assert.deepEqual(c.command.slice(3), [
    'capi-exec',
    '--base-url',
    'http://api:8080',
    '--header',
    'Authorization: Bearer {{env.API_TOKEN}}',
    '--concurrency',
    '8',
    '--rate',
    '20/s',
  ]);
  assert.ok(c.env.some((e: Json) => e.name === 'CAPI_SHARD_TOTAL' && e.value === '3'));
  const split = await runTool('capi-split', [suite]);
  assert.equal(cm.data['tests.ndjson'], split.stdout, 'the ConfigMap holds what capi-split makes of the suite');
  const howto = readFileSync(join(tmp.path, 'with-secret', 'HOWTO.txt'), 'utf8');
  assert.match(howto, /kubectl create secret generic api-creds --from-literal=API_TOKEN=…/);
  // a client-side apply would copy the ConfigMap into a 256 KiB annotation
  assert.match(howto, /^kubectl apply --server-side -f /m);
  assert.match(howto, /capi-merge '\.\/capi-night-suite-results\/\*\.ndjson' --suite/);
  for (const f of ['job.json', 'configmap.json', 'collect/pod.json', 'HOWTO.txt'])
    assert.equal(readFileSync(join(tmp.path, 'with-secret', f), 'utf8').includes(SECRET), false, f);
  assert.equal(existsSync(join(tmp.path, 'capi-runs')), false, 'no run was made');
});

test('--emit k8s without a Secret, with other shard counts and --parallel: valid each time', async () => {
  for (const [shards, parallel, width] of [
    [1, undefined, 1],
    [12, 4, 2],
    [100, 250, 3],
  ] as const) {
    const dir = `shards-${shards}`;
    const args = ['--shards', String(shards), ...(parallel ? ['--parallel', String(parallel)] : [])];
    const r = await emit(dir, args);
    assert.equal(r.code, 0, r.stderr);
    const { job } = validateAll(dir);
    assert.equal(job.spec.completions, shards);
    assert.equal(job.spec.parallelism, Math.min(parallel ?? shards, shards));
    const c = job.spec.template.spec.containers[0];
    assert.equal(c.envFrom, undefined);
    assert.match(c.command[2], new RegExp(`printf '%0${width}d'`));
  }
});

test('a suite too big for a ConfigMap: exit 2 naming --suite-on-pvc; with it the suite goes to collect/', async () => {
  const big = join(tmp.path, 'big.csv');
  let text = 'id,name,url,body\n';
  for (let i = 0; i < 6000; i++) text += `B${i},big ${i},/items/${i},${'x'.repeat(200)}\n`;
  writeFileSync(big, text);
  const args = (dir: string, more: string[] = []) => [big, '--emit', 'k8s', join(tmp.path, dir), ...base, ...more];
  const refused = await runTool('capi-launch', args('big'), { cwd: tmp.path });
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /^capi-launch: .*big\.csv: its \d+ bytes of test records are over a ConfigMap's limit of 1 MiB: pass --suite-on-pvc/,
  );
  assert.equal(refused.stdout, '');
  assert.equal(existsSync(join(tmp.path, 'big', 'job.json')), false, 'nothing to apply was written');
  assert.deepEqual(readdirSync(join(tmp.path, 'big', 'collect')), [], 'no temp file left');
  const onPvc = await runTool('capi-launch', args('big', ['--suite-on-pvc']), { cwd: tmp.path });
  assert.equal(onPvc.code, 0, onPvc.stderr);
  const { job, cm } = validateAll('big');
  assert.equal(cm, null);
  const c = job.spec.template.spec.containers[0];
  assert.match(c.command[2], /--in \/capi\/data\/capi-big\/tests\.ndjson/);
  assert.equal(job.spec.template.spec.volumes.length, 1, 'the PVC only');
  assert.equal(parseLines(readFileSync(join(tmp.path, 'big', 'collect', 'tests.ndjson'), 'utf8')).length, 6000);
  assert.match(
    readFileSync(join(tmp.path, 'big', 'HOWTO.txt'), 'utf8'),
    /kubectl cp .*collect\/tests\.ndjson capi-big-collect:\/capi\/data\/capi-big\/tests\.ndjson/,
  );
});

// Flags of --help that an emitted Job reads besides capi-exec's (whose help starts
// `capi-exec:`): the Job's own, capi-split's (the records), the pods' count and restarts,
// and every tool's own.
const USED_BY_EMIT = new Set(
  (
    'emit image shards pvc secret suite-on-pvc job-name parallel max-restarts lenient auto-id vars-columns ' +
    'verbose help version completion man'
  ).split(' '),
);

test('--emit k8s passes every capi-exec flag but --vars, refuses every other flag of --help (--dry-run, --hosts...), and the docs say which', async () => {
  const help = await runTool('capi-launch', ['--help']);
  assert.equal(help.code, 0, help.stderr);
  const flags = [
    ...help.stdout.matchAll(/^ {2}(?:-\w, | {4})--([a-z-]+)( (?:'[^']*'|[A-Z]\S*))?(?: +(capi-exec:))?/gm),
  ].map((m) => ({ name: m[1] as string, takesValue: m[2] !== undefined, exec: m[3] !== undefined }));
  const passed = flags.filter((f) => f.exec && f.name !== 'vars').map((f) => f.name);
  assert.ok(passed.includes('base-url') && passed.includes('allow-env') && passed.length > 15, passed.join(' '));
  // docs/capi-launch.md, "Kubernetes": its row of capi-exec flags names each one passed on
  const doc = readFileSync(join(repoRoot, 'docs/capi-launch.md'), 'utf8');
  const row = /^\| capi-exec flags +\|(.*)\|$/m.exec(doc.slice(doc.indexOf('## Kubernetes')))?.[1] ?? '';
  for (const name of passed) assert.ok(row.includes(`\`--${name}\``), `the docs' k8s row names --${name}`);
  assert.match(row, /`--vars FILE` is refused/);
  const others = flags.filter((f) => !f.exec && !USED_BY_EMIT.has(f.name));
  for (const name of ['dry-run', 'hosts', 'max-batch-size', 'tmux', 'keep', 'json'])
    assert.ok(
      others.some((f) => f.name === name),
      `--${name} is in --help and not used by --emit`,
    );
  for (const f of [...others, { name: 'vars', takesValue: true }]) {
    const flag = [`--${f.name}`, ...(f.takesValue ? ['1'] : [])];
    const r = await runTool('capi-launch', [suite, '--emit', 'k8s', 'd3', '--image', 'i', '--pvc', 'p', ...flag], {
      cwd: tmp.path,
      env: { CAPI_BASE_URL: 'http://api' },
    });
    assert.equal(r.code, 2, `${flag.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--${f.name === 'batch' ? 'batch-size' : f.name}\\b|--emit launches nothing`));
    assert.equal(existsSync(join(tmp.path, 'd3')), false, `${flag.join(' ')}: nothing written`);
  }
});

test('--emit k8s refusals: each one line, exit 2, naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--emit', 'k8s', 'd1', '--pvc', 'p'], /--emit k8s needs --image IMAGE/],
    [['--emit', 'k8s', 'd1', '--image', 'i'], /--emit k8s needs --pvc NAME/],
    [['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'Bad_Name'], /--pvc takes a Kubernetes name/],
    [['--emit', 'helm', 'd1', '--image', 'i', '--pvc', 'p'], /--emit takes k8s \(got "helm"\)/],
    [['--emit', 'k8s', '--image', 'i', '--pvc', 'p'], /name the folder to write to/],
    [['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'p', '--tmux'], /--tmux does nothing with --emit k8s/],
    [['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'p', '--secret', 'S'], /--secret takes a Kubernetes name/],
    [
      ['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'p', '-H', 'Authorization: Bearer abc123'],
      /--header Authorization would be written in clear into the manifest/,
    ],
    [
      ['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'p', '-H', 'X-Api-Key: {{env.K}}x'],
      /--header X-Api-Key would be written in clear/,
    ],
    [
      ['--emit', 'k8s', 'd1', '--image', 'i', '--pvc', 'p', '--vars', 'v.env'],
      /--vars FILE is not carried into the pods/,
    ],
    [['--image', 'i'], /--image goes with --emit k8s/],
    [['d1'], /one input only: unexpected argument 'd1'/],
  ];
  for (const [args, want] of cases) {
    const r = await runTool('capi-launch', [suite, ...args], { cwd: tmp.path, env: { CAPI_BASE_URL: 'http://api' } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0] ?? '', want, args.join(' '));
    assert.equal(existsSync(join(tmp.path, 'd1', 'job.json')), false);
  }
  // a relative URL and no base URL anywhere: refused as a launch refuses it
  const rel = await runTool('capi-launch', [suite, '--emit', 'k8s', 'd2', '--image', 'i', '--pvc', 'p'], {
    cwd: tmp.path,
  });
  assert.equal(rel.code, 2);
  assert.match(
    rel.stderr,
    /Night Suite\.csv:2: field "url": relative URL "\/items\/1" needs --base-url or CAPI_BASE_URL/,
  );
  // CAPI_BASE_URL of this shell is written into the Job: the pods do not have it
  const fromEnv = await runTool(
    'capi-launch',
    [suite, '--emit', 'k8s', 'd3', '--image', 'i', '--pvc', 'p', '-H', 'X-Trace: {{env.TRACE}}'],
    {
      cwd: tmp.path,
      env: { CAPI_BASE_URL: 'http://from-env:9000' },
    },
  );
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.match(
    fromEnv.stderr,
    /warning: the pods' flags use \{\{env\.TRACE\}\} but no --secret gives them an environment/,
  );
  assert.deepEqual(read('d3', 'job.json').spec.template.spec.containers[0].command.slice(3, 6), [
    'capi-exec',
    '--base-url',
    'http://from-env:9000',
  ]);
  // another manifest in DIR would be applied with the Job
  writeFileSync(join(tmp.path, 'd3', 'other.yaml'), 'kind: Namespace\n');
  const crowded = await runTool('capi-launch', [suite, '--emit', 'k8s', 'd3', '--image', 'i', '--pvc', 'p'], {
    cwd: tmp.path,
    env: { CAPI_BASE_URL: 'http://from-env:9000' },
  });
  assert.equal(crowded.code, 2);
  assert.match(crowded.stderr, /holds other manifests \(other\.yaml\) that kubectl apply -f d3 would apply too/);
});

test('--emit k8s --auto-id: a suite with no id column is split with row-<line> ids, as a launch splits it', async () => {
  const noid = join(tmp.path, 'noid.csv');
  writeFileSync(noid, 'name,url\nfirst,/a\nsecond,/b\n');
  const args = (more: string[]) => [noid, '--emit', 'k8s', join(tmp.path, 'noid'), ...base, ...more];
  const refused = await runTool('capi-launch', args([]), { cwd: tmp.path });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /or use --auto-id to number rows/);
  const r = await runTool('capi-launch', args(['--auto-id']), { cwd: tmp.path });
  assert.equal(r.code, 0, r.stderr);
  const { cm } = validateAll('noid');
  const ids = parseLines(cm.data['tests.ndjson']).map((t: Json) => t.id);
  assert.deepEqual(ids, ['row-2', 'row-3']);
  // the merge step matches the records to the suite with the same ids
  assert.match(readFileSync(join(tmp.path, 'noid', 'HOWTO.txt'), 'utf8'), /--suite \S*noid\.csv --auto-id /);
});

test('--emit k8s DIR/ (a trailing slash, as the docs write it): the next steps and HOWTO.txt name DIR/HOWTO.txt and DIR/collect/pod.json, not DIR//…', async () => {
  const r = await runTool('capi-launch', [suite, '--emit', 'k8s', 'slash/', ...base], { cwd: tmp.path });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /; nothing was started\. Next steps: slash\/HOWTO\.txt\n/);
  const howto = readFileSync(join(tmp.path, 'slash', 'HOWTO.txt'), 'utf8');
  assert.match(howto, /\nkubectl apply -f slash\/collect\/pod\.json && /);
  assert.doesNotMatch(howto, /slash\/\//);
});

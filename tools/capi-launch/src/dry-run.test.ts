import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@capi/testkit';
import { sandboxes } from './test-support/harness.js';

// real capi-split: the dry run reads the suite as the launch would
const box = sandboxes(false);

test('--dry-run prints the plan (tests, batches, workers, rate, the commands) and creates and starts nothing', async () => {
  const b = await box();
  const suite = b.suite(250);
  const r = await b.launch([suite, '--dry-run', '--parallel', '3', '--batch-size', '100', '--rate', '50/s']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^dry run: nothing was created or started\n/);
  assert.match(r.stdout, /\nsuite: +\S+suite\.csv: 250 tests\n/);
  assert.match(r.stdout, /\nbatches: +3 of up to 100 tests \(batch_0001 to batch_0003\)\n/);
  assert.match(r.stdout, /\nworkers: +3 at once \(--parallel 3\)/);
  assert.match(r.stdout, /\nrate: +50\/s for the whole run, shared by the workers\n/);
  assert.match(r.stdout, /\nbase URL: +http:\/\/127\.0\.0\.1:9\n/);
  const commands = r.stdout.split('\ncommands:\n')[1]?.trim().split('\n') ?? [];
  assert.match(commands[0] as string, /capi-split\.js \S+suite\.csv --batch-size 100 --out \S+\/batches$/);
  assert.match(commands[1] as string, /capi-launch\.js --supervise \S+capi_test_\d+_\d+$/);
  const execs = commands.filter((c) => c.includes('capi-exec.js'));
  assert.equal(execs.length, 3);
  // a worker per slot, taking batch after batch: the batches are its requests, not its flags
  assert.match(execs[2] as string, /capi-exec\.js --serve \S+capi_test_\d+_\d+ --worker 3 --run-id capi_test_\d+_\d+ /);
  assert.match(r.stdout, /\n {4}each reads its batches on stdin: \{"batch":"batch_0001","total":100\} …\n/);
  assert.match(commands.at(-1) as string, /capi-merge\.js \S+ --junit \S+\/report\/junit\.xml --html \S+report\.html$/);
  assert.ok(!existsSync(b.runs), 'the runs folder was not created');
  // the plan for a foreground run has no supervisor of its own; many workers are summed up
  const f = await b.launch([suite, '--dry-run', '--foreground', '--batch-size', '10', '--parallel', '6']);
  assert.equal(f.code, 0, f.stderr);
  assert.doesNotMatch(f.stdout, /--supervise/);
  assert.match(f.stdout, /\n {2}\.\.\. 2 more workers like these\n/);
  assert.match(f.stdout, /--worker 6 /);
  assert.ok(!existsSync(b.runs));
});

/** A line of a docs block as a pattern: `…` is anything, the docs' folder and run id are this run's. */
function docLine(line: string, dir: string, runs: string): RegExp {
  const parts = line.split(/(\/srv\/api-tests\/capi-runs|\/srv\/api-tests|capi_test_\d{8}_\d{6}|\/usr\/bin\/node|…)/);
  const re = parts.map((p) => {
    if (p === '/srv/api-tests/capi-runs') return reEscape(runs);
    if (p === '/srv/api-tests') return reEscape(dir);
    if (p === '/usr/bin/node') return '\\S+';
    if (p === '…') return '.*?';
    if (/^capi_test_\d{8}_\d{6}$/.test(p)) return 'capi_test_\\d{8}_\\d{6}';
    return reEscape(p);
  });
  return new RegExp(`^${re.join('')}$`);
}
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test("docs/capi-launch.md's dry-run block is what the command it names prints (`  …`: lines left out)", async () => {
  const doc = readFileSync(join(repoRoot, 'docs/capi-launch.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## A dry run'));
  const command = /`(capi-launch suite\.csv --dry-run [^`]+)`/.exec(section)?.[1]?.replace(/\s+/g, ' ');
  assert.ok(command, 'the docs name the command of the block');
  const block = /\n```\n([\s\S]*?)\n```/.exec(section)?.[1]?.split('\n') ?? [];
  assert.ok(block.length > 10, block.join('\n'));
  const b = await box();
  b.suite(250);
  const r = await b.launch(command.split(' ').slice(1), { cwd: b.dir });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.trimEnd().split('\n');
  let at = 0;
  let skipping = false;
  for (const line of block) {
    if (line.trim() === '…') {
      skipping = true;
      continue;
    }
    const want = docLine(line, b.dir, b.runs);
    while (skipping && at < out.length && !want.test(out[at] as string)) at++;
    assert.match(out[at] ?? '(no more output)', want, `docs line: ${line}\n--- output:\n${r.stdout}`);
    at++;
    skipping = false;
  }
  assert.ok(skipping || at === out.length, `output past the docs block:\n${out.slice(at).join('\n')}`);
});

test('--dry-run: by default batches of 100 double every 100 batches up to 1,000; --batch-size N alone stays N', async () => {
  const b = await box();
  const suite = b.suite(25_000);
  const grown = await b.launch([suite, '--dry-run']);
  assert.equal(grown.code, 0, grown.stderr);
  // 100 × 100, then the 15,000 left in batches of 200
  assert.match(
    grown.stdout,
    /\nbatches: +175 of 100 tests, doubling every 100 batches up to 1000 \(batch_0001 to batch_0175\)\n/,
  );
  assert.match(grown.stdout, /capi-split\.js \S+ --batch-size 100 --max-batch-size 1000 --out /);
  const fixed = await b.launch([suite, '--dry-run', '--batch-size', '100']);
  assert.match(fixed.stdout, /\nbatches: +250 of up to 100 tests/);
  assert.doesNotMatch(fixed.stdout, /--max-batch-size/);
  const own = await b.launch([suite, '--dry-run', '--batch-size', '50', '--max-batch-size', '200']);
  // 100 × 50, 100 × 100, then the 10,000 left in batches of 200
  assert.match(own.stdout, /\nbatches: +250 of 50 tests, doubling every 100 batches up to 200 /);
  const below = await b.launch([suite, '--dry-run', '--batch-size', '50', '--max-batch-size', '20']);
  assert.equal(below.code, 2);
  assert.match(below.stderr, /--max-batch-size 20 is below --batch-size 50/);
});

test('--dry-run refuses what the launch would refuse: a bad row, relative URLs without a base URL, a bad flag', async () => {
  const b = await box({ CAPI_BASE_URL: '' });
  const bad = join(b.dir, 'bad.csv');
  writeFileSync(bad, 'id,url,method\nA,http://x/a,GET\nB,http://x/b,GRT\n');
  const r = await b.launch([bad, '--dry-run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.csv:3/);
  assert.equal(r.stdout, '');
  const rel = await b.launch([b.suite(3), '--dry-run']);
  assert.equal(rel.code, 2);
  assert.match(rel.stderr, /T0001 \/items\/1 has a relative URL and there is no --base-url/);
  const rate = await b.launch([b.suite(3), '--dry-run', '--rate', 'fast', '--base-url', 'http://127.0.0.1:9']);
  assert.equal(rate.code, 2);
  const stop = await b.launch(['--stop', '--dry-run']);
  assert.equal(stop.code, 2);
  assert.match(stop.stderr, /--dry-run goes with a launch or --prune, not --stop/);
  assert.ok(!existsSync(b.runs));
});

test('--dry-run refuses an {{env.NAME}} the workers could not read, with the launch`s own words; allowed and set, it plans', async () => {
  const b = await box();
  const suite = join(b.dir, 'env.csv');
  const rows = ['id,url,headers', 'A,/a,', 'B,/b,"{""Authorization"": ""Bearer {{env.API_TOKEN}}""}"'];
  writeFileSync(suite, `${rows.join('\n')}\n`);
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      [],
      { API_TOKEN: 'tok-123456' },
      /env\.csv:3: field "headers": \{\{env\.API_TOKEN\}\} is not allowed \(allow it with --allow-env API_TOKEN/,
    ],
    [
      ['--allow-env', 'API_TOKEN'],
      {},
      /env\.csv:3: field "headers": \{\{env\.API_TOKEN\}\} is not set in the environment/,
    ],
    [['-H', 'X-Key: {{env.NOPE}}'], { API_TOKEN: 'tok-123456' }, /--header "X-Key": \{\{env\.NOPE\}\} is not set/],
  ];
  for (const [flags, env, said] of cases) {
    const dry = await b.launch([suite, '--dry-run', ...flags], { env });
    assert.equal(dry.code, 2, dry.stderr);
    assert.match(dry.stderr, said);
    assert.equal(dry.stdout, '');
    // the launch itself says the same
    const real = await b.launch([suite, ...flags], { env });
    assert.equal(real.code, 2, real.stderr);
    assert.equal(real.stderr, dry.stderr);
  }
  assert.ok(!existsSync(b.runs) || readdirSync(b.runs).every((n) => !n.startsWith('capi_test_')));
  const ok = await b.launch([suite, '--dry-run', '--allow-env', 'API_TOKEN'], { env: { API_TOKEN: 'tok-123456' } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\nsuite: +\S+env\.csv: 2 tests\n/);
});

test('--dry-run warns of values too short to redact as the launch does, for a --header and for a record', async () => {
  const b = await box();
  const suite = join(b.dir, 'short.csv');
  const rows = ['id,url,headers', 'A,/a,', 'B,/b,"{""Authorization"": ""Bearer {{env.API_TOKEN}}""}"'];
  writeFileSync(suite, `${rows.join('\n')}\n`);
  const flags = ['--allow-env', 'API_TOKEN', '-H', 'X-Key: {{env.CAPI_KEY}}'];
  const env = { API_TOKEN: 'abc', CAPI_KEY: 'xy' };
  const warnings = [
    'capi-launch: warning: {{env.CAPI_KEY}} is shorter than 6 characters and is not redacted (pass plain values with --var)',
    'capi-launch: warning: {{env.API_TOKEN}} is shorter than 6 characters and is not redacted (pass plain values with --var)',
  ];
  const dry = await b.launch([suite, '--dry-run', ...flags], { env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(dry.stderr.trim().split('\n'), warnings);
  const said = (text: string) => text.split('\n').filter((l) => l.includes('is not redacted'));
  // the launch itself says the same lines
  const real = await b.launch([suite, ...flags], { env });
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(said(real.stderr), warnings);
  assert.equal((await b.launch(['--stop', 'latest'])).code, 0);
  // long enough: neither warns
  const long = { API_TOKEN: 'tok-123456', CAPI_KEY: 'key-123456' };
  const quiet = await b.launch([suite, '--dry-run', ...flags], { env: long });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
});

test('--prune --dry-run names the runs it would remove and removes none', async () => {
  const b = await box({}, true);
  const suite = b.suite(5);
  for (let i = 0; i < 3; i++) {
    const r = await b.launch([suite, '--foreground', '--force']);
    assert.equal(r.code, 0, r.stderr);
  }
  const before = readdirSync(b.runs)
    .filter((n) => n.startsWith('capi_test_'))
    .sort();
  const dry = await b.launch(['--prune', '--keep', '1', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  const named = dry.stdout.trim().split('\n');
  assert.equal(named.length, before.length - 1);
  for (const line of named) assert.match(line, /^would remove capi_test_\d+_\d+/);
  assert.match(dry.stderr, /dry run: 2 run\(s\) would be removed, 1 finished kept/);
  assert.deepEqual(
    readdirSync(b.runs)
      .filter((n) => n.startsWith('capi_test_'))
      .sort(),
    before,
  );
  const real = await b.launch(['--prune', '--keep', '1']);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(real.stdout.replaceAll('removed', 'would remove'), dry.stdout);
});

test('--concurrency over capi-exec`s 10000 is refused up front (exit 2), not by every worker with each batch given up', async () => {
  const b = await box();
  const suite = b.suite(5);
  for (const args of [
    [suite, '--dry-run'],
    [suite, '--foreground'],
  ]) {
    const r = await b.launch([...args, '--concurrency', '10001']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--concurrency takes a whole number from 1 to 10000 \(got "10001"\)/);
  }
  assert.equal(existsSync(b.runs) ? readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')).length : 0, 0);
});

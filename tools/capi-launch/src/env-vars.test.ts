import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { demoFor, readJson, sandboxes } from './test-support/harness.js';

// {{env.X}} a worker cannot read is exit 2 before a run starts (issue 11), and the
// variable and secret flags reach every worker (issue 10).

const box = sandboxes(false);
const demo = demoFor(0);
const runIds = (runs: string) => (existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith('capi_test_')) : []);

function suite(dir: string): string {
  const file = join(dir, 'suite.csv');
  writeFileSync(
    file,
    'id,url,headers,expect_body\n' +
      'T1,/items/{{var.item}},,item-{{var.item}}\n' +
      'T2,/items/2,X-Key: {{env.DEPLOY_KEY}},item-2\n' +
      'T3,/items/3,X-Key: {{env.DEPLOY_KEY}},item-3\n',
  );
  return file;
}

test('{{env.X}} not allowed or not set: exit 2 at launch naming the variable and the first row, no run folder', async () => {
  const b = await box({ CAPI_BASE_URL: '' });
  suite(b.dir);
  const base = ['suite.csv', '--base-url', demo.url, '--var', 'item=1', '--foreground'];
  const forbidden = await b.launch(base, { cwd: b.dir, env: { DEPLOY_KEY: 'deploy-key-1234' } });
  assert.equal(forbidden.code, 2, forbidden.stderr);
  assert.equal(
    forbidden.stderr.split('\n')[0],
    'capi-launch: suite.csv:3: field "headers": {{env.DEPLOY_KEY}} is not allowed (allow it with --allow-env DEPLOY_KEY, or name it CAPI_…)',
  );
  const unset = await b.launch([...base, '--allow-env', 'DEPLOY_KEY'], { cwd: b.dir });
  assert.equal(unset.code, 2, unset.stderr);
  assert.equal(
    unset.stderr.split('\n')[0],
    'capi-launch: suite.csv:3: field "headers": {{env.DEPLOY_KEY}} is not set in the environment',
  );
  const header = await b.launch([...base, '--allow-env', 'DEPLOY_KEY', '-H', 'Authorization: {{env.NOPE_TOKEN}}'], {
    cwd: b.dir,
    env: { DEPLOY_KEY: 'deploy-key-1234' },
  });
  assert.equal(header.code, 2, header.stderr);
  assert.match(header.stderr, /^capi-launch: --header "Authorization": \{\{env\.NOPE_TOKEN\}\} is not set/);
  assert.deepEqual(runIds(b.runs), [], 'no run folder left behind');
  // --header without a base URL would be refused by every worker: once, at launch
  writeFileSync(join(b.dir, 'abs.csv'), `id,url\nT1,${demo.url}/items/1\n`);
  const noBase = await b.launch(['abs.csv', '-H', 'X-A: 1', '--foreground'], { cwd: b.dir });
  assert.equal(noBase.code, 2, noBase.stderr);
  assert.match(noBase.stderr, /^capi-launch: --header values are sent to the --base-url origin only/);
  assert.deepEqual(runIds(b.runs), []);
  const all = await b.launch(['abs.csv', '-H', 'X-A: 1', '--header-all-origins', '--foreground'], { cwd: b.dir });
  assert.equal(all.code, 0, all.stderr);
});

test('--allow-env, --var, --vars, --header-all-origins and --retry-unsafe reach every worker; a resume checks the env again', async () => {
  const b = await box({ CAPI_BASE_URL: '' });
  suite(b.dir);
  writeFileSync(join(b.dir, 'vars.env'), 'item=4\n');
  const r = await b.launch(
    [
      'suite.csv',
      ...['--base-url', demo.url, '--allow-env', 'DEPLOY_KEY', '--vars', 'vars.env', '--var', 'item=1'],
      ...['--header-all-origins', '--retry-unsafe', '--batch-size', '1', '--parallel', '2', '--foreground'],
    ],
    { cwd: b.dir, env: { DEPLOY_KEY: 'deploy-key-1234' } },
  );
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, 'latest');
  const m = readJson<{ options: { execArgs: string[] }; verdict: string; suite: { envMarks?: boolean } }>(
    join(runDir, 'run.json'),
  );
  assert.equal(m.verdict, 'passed');
  // the resume below reads the batches for its check because of this
  assert.equal(m.suite.envMarks, true);
  const args = m.options.execArgs;
  for (const flag of ['--allow-env', '--var', '--vars', '--header-all-origins', '--retry-unsafe'])
    assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
  assert.equal(args[args.indexOf('--vars') + 1], join(b.dir, 'vars.env'), 'a --vars path is made absolute');
  const journals = readdirSync(join(runDir, 'results')).filter((f) => f.endsWith('.ndjson'));
  const text = journals.map((f) => readFileSync(join(runDir, 'results', f), 'utf8')).join('');
  assert.equal(text.includes('deploy-key-1234'), false);

  const resumed = await b.launch(['--resume', 'latest', '--foreground'], { cwd: b.dir });
  assert.equal(resumed.code, 2, resumed.stderr);
  assert.match(resumed.stderr, /suite\.csv:3: field "headers": \{\{env\.DEPLOY_KEY\}\} is not set in the environment/);
});

test('{{env.X}} spelled with JSON escapes (an NDJSON suite, a CSV cell holding JSON) is still refused at launch', async () => {
  const b = await box({ CAPI_BASE_URL: '' });
  const record = (id: string, url: string) =>
    `{"id":"${id}","request":{"method":"GET","url":"${url}"},"expect":{"status":"2xx"}}\n`;
  // the suite's bytes never say `env.`: capi-split's JSON.parse makes it
  writeFileSync(join(b.dir, 'esc.ndjson'), record('T1', '/items/1') + record('T2', '/items/{{\\u0065nv.NOPE_KEY}}'));
  writeFileSync(
    join(b.dir, 'esc.csv'),
    'id,url,headers\nT1,/items/1,\nT2,/items/2,"{""X-Key"":""{{\\u0065nv.NOPE_KEY}}""}"\n',
  );
  const cases: Array<[string, number, string]> = [
    ['esc.ndjson', 2, 'request.url'],
    ['esc.csv', 3, 'headers'],
  ];
  for (const [file, line, field] of cases) {
    const r = await b.launch([file, '--base-url', demo.url, '--foreground'], { cwd: b.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^capi-launch: ${file.replace('.', '\\.')}:${line}: field "${field}": \\{\\{env\\.NOPE_KEY\\}\\} is not allowed`,
      ),
    );
  }
  assert.deepEqual(runIds(b.runs), [], 'no run folder left behind');
  // a suite with no mark runs, and run.json keeps the suite's sha256 (read while it was split)
  writeFileSync(join(b.dir, 'plain.csv'), 'id,url\nT1,/items/1\nT2,/items/2\n');
  const ok = await b.launch(['plain.csv', '--base-url', demo.url, '--foreground'], { cwd: b.dir });
  assert.equal(ok.code, 0, ok.stderr);
  const [id] = runIds(b.runs);
  const m = readJson<{ suite: { sha256: string; envMarks?: boolean } }>(join(b.runs, id as string, 'run.json'));
  // a resume's env check need not read its batches again
  assert.equal(m.suite.envMarks, false);
  const resumed = await b.launch(['--resume', id as string, '--foreground'], { cwd: b.dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(
    m.suite.sha256,
    createHash('sha256')
      .update(readFileSync(join(b.dir, 'plain.csv')))
      .digest('hex'),
  );
});

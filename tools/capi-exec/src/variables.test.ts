import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

// Which variables a suite may read, where --header values go, and base URLs that would
// lose what they carry (issue 10, issue 11).
const scope = fileScope();

async function headerRecorder() {
  const got: IncomingHttpHeaders[] = [];
  const s = await scope.server((req, res) => {
    got.push(req.headers);
    res.end('ok');
  });
  return { ...s, got };
}

test('--header values go to the --base-url origin only; --header-all-origins sends them everywhere', async () => {
  const base = await headerRecorder();
  const other = await headerRecorder();
  const input = ndjson([get('own', '/a'), get('foreign', `${other.url}/b`)]);
  const flags = [
    '-H',
    'Authorization: Bearer {{env.API_TOKEN}}',
    '-H',
    'X-Vault-Token: vault-literal-1',
    '-H',
    'X-Trace: 7',
  ];
  const r = await runTool('capi-exec', ['--base-url', base.url, ...flags], {
    input,
    env: { API_TOKEN: 'prod-token-42' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(base.got[0]?.authorization, 'Bearer prod-token-42');
  assert.equal(base.got[0]?.['x-vault-token'], 'vault-literal-1');
  assert.equal(other.got.length, 1);
  for (const name of ['authorization', 'x-vault-token', 'x-trace'])
    assert.equal(other.got[0]?.[name], undefined, `${name} went to another origin`);

  const all = await runTool('capi-exec', ['--base-url', base.url, '--header-all-origins', ...flags], {
    input: ndjson([get('foreign', `${other.url}/b`)]),
    env: { API_TOKEN: 'prod-token-42' },
  });
  assert.equal(all.code, 0, all.stderr);
  assert.equal(other.got[1]?.authorization, 'Bearer prod-token-42');

  const none = await runTool('capi-exec', flags, { input: ndjson([get('x', `${other.url}/b`)]) });
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /--header values are sent to the --base-url origin only: give --base-url .* or --header-all-origins/,
  );
  const unset = await runTool('capi-exec', ['--base-url', base.url, ...flags], { input: ndjson([get('x', '/b')]) });
  assert.equal(unset.code, 2);
  assert.match(
    unset.stderr,
    /^capi-exec: --header "Authorization": \{\{env\.API_TOKEN\}\} is not set in the environment\n/,
  );
});

test('{{env.X}} in a suite reads only allowed variables; a missing or forbidden one is exit 2 at the first row, nothing sent', async () => {
  const s = await headerRecorder();
  const dir = await scope.scratch();
  const suite = join(dir, 'tests.ndjson');
  const src = (line: number) => ({ source: { file: 'suite.csv', line } });
  await writeFile(
    suite,
    ndjson([
      get('plain', '/p', src(2)),
      get('ci', '/c', { ...src(3), request: { headers: { 'X-Key': '{{env.CI_DEPLOY_KEY}}' } } }),
      get('ci2', '/c2', { ...src(4), request: { headers: { 'X-Key': '{{env.CI_DEPLOY_KEY}}' } } }),
    ]),
  );
  const journal = join(dir, 'j.ndjson');
  const env = { CI_DEPLOY_KEY: 'deploy-key-value-9' };
  const forbidden = await runTool('capi-exec', ['--base-url', s.url, '--in', suite, '--journal', journal], { env });
  assert.equal(forbidden.code, 2);
  assert.equal(
    forbidden.stderr,
    `capi-exec: ${suite}:2: field "request.headers.X-Key": {{env.CI_DEPLOY_KEY}} is not allowed (allow it with --allow-env CI_DEPLOY_KEY, or name it CAPI_…) (test "ci"; suite.csv:3)\n`,
  );
  assert.equal(s.got.length, 0, 'a file with a journal is read before anything runs');
  const missing = await runTool('capi-exec', [
    '--base-url',
    s.url,
    '--in',
    suite,
    '--allow-env',
    'CI_*',
    '--journal',
    journal,
  ]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /:2: field "request\.headers\.X-Key": \{\{env\.CI_DEPLOY_KEY\}\} is not set in the environment \(test "ci"; suite\.csv:3\)\n$/,
  );
  assert.equal(s.got.length, 0);
  const allowed = await runTool(
    'capi-exec',
    ['--base-url', s.url, '--in', suite, '--allow-env', 'OTHER,CI_DEPLOY_KEY', '--journal', journal],
    { env },
  );
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(s.got[1]?.['x-key'], 'deploy-key-value-9');
  assert.equal((await readFile(journal, 'utf8')).includes('deploy-key-value-9'), false);
  // CAPI_ names need no --allow-env; a bad --allow-env name is a usage error
  const capi = await runTool('capi-exec', ['--base-url', s.url], {
    input: ndjson([get('k', '/k?x={{env.CAPI_ITEM_KEY}}')]),
    env: { CAPI_ITEM_KEY: 'capi-prefixed-1' },
  });
  assert.equal(capi.code, 0, capi.stderr);
  const bad = await runTool('capi-exec', ['--base-url', s.url, '--allow-env', 'A B'], { input: '' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--allow-env: "A B" is not a variable name/);
});

test('--var and --vars give plain values as {{var.NAME}} (a row var.NAME column wins); bad ones are exit 2', async () => {
  const s = await headerRecorder();
  const dir = await scope.scratch();
  const json = join(dir, 'vars.json');
  await writeFile(json, '{"item": 5, "region": "eu", "flag": true}');
  const input = ndjson([
    get('v', '/items/{{var.item}}?r={{var.region}}&f={{var.flag}}', { expect: { body: 'never' } }),
    get('col', '/items/{{var.item}}', { vars: { 'var.item': '9' } }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--vars', json, '--var', 'region=us'], { input });
  assert.equal(r.code, 1, r.stderr);
  const paths = s.hits.map((h) => h.path).sort();
  assert.deepEqual(paths, ['/items/5?r=us&f=true', '/items/9']);
  // a plain {{item}} is a column, never a run variable: capi-split can tell a typo from it
  const plain = await runTool('capi-exec', ['--base-url', s.url, '--var', 'item=5'], {
    input: ndjson([get('p', '/items/{{item}}')]),
  });
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stdout, /"code":"TEMPLATE","message":"missing variable \\"item\\" in request\.url"/);
  // a {{var.X}} that nothing gives is exit 2 at the first test that uses it, nothing sent
  const before = s.hits.length;
  const missing = await runTool('capi-exec', ['--base-url', s.url, '--var', 'item=5'], {
    input: ndjson([get('m1', '/items/{{var.item}}'), get('m2', '/items/{{var.itme}}')]),
  });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /field "request\.url": \{\{var\.itme\}\} has no value: give it with --var itme=… or --vars FILE \(test "m2"/,
  );
  assert.ok(s.hits.length - before <= 1, 'the test before the bad record may run; none after it');
  for (const [args, message] of [
    [['--var', 'noequals'], /--var takes name=value/],
    [['--var', 'env.X=1'], /"env\.X" is not a variable name/],
    [['--vars', join(dir, 'none.env')], /none\.env: cannot read --vars: ENOENT/],
  ] as const) {
    const bad = await runTool('capi-exec', ['--base-url', s.url, ...args], { input: '' });
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
  }
  await writeFile(join(dir, 'bad.env'), 'ok=1\nthis line is wrong\n');
  const badFile = await runTool('capi-exec', ['--base-url', s.url, '--vars', join(dir, 'bad.env')], { input: '' });
  assert.equal(badFile.code, 2);
  assert.match(badFile.stderr, /bad\.env: line 2: expected NAME=value/);
  assert.equal(parseLines(badFile.stdout).length, 0);
});

test('a --base-url with user info or a query string is refused with a hint, never echoing the password', async () => {
  for (const [url, hint] of [
    ['http://admin:hunter2-pw@127.0.0.1:1/api', /user info is refused.*--header 'Authorization: Basic/],
    ['http://127.0.0.1:1/api?key=abc', /query string is refused/],
  ] as const) {
    const r = await runTool('capi-exec', ['--base-url', url], { input: '' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, hint);
    assert.equal(r.stderr.includes('hunter2'), false);
    const env = await runTool('capi-exec', [], { input: '', env: { CAPI_BASE_URL: url } });
    assert.equal(env.code, 2, env.stderr);
  }
});

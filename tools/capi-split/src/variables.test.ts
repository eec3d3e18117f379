import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestRecord } from '@capi/core';
import { killAll, parseLines, runTool, tempDir } from '@capi/testkit';

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-split-vars-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

async function suite(name: string, text: string): Promise<string> {
  await writeFile(join(tmp.path, name), text);
  return name;
}
const split = (args: string[], input?: string) => runTool('capi-split', args, { cwd: tmp.path, input });

test('a column that looks like a check but is not one is refused, naming the column meant', async () => {
  const cases: Array<[string, string]> = [
    ['json', 'did you mean "expect_json"?'],
    ['assert_json', 'did you mean "expect_json"?'],
    ['latency_ms', 'did you mean "max_ms" or "timeout_ms"?'],
    ['status', 'did you mean "expect_status"?'],
    ['http_status', 'did you mean "expect_status"?'],
    ['response_body', 'did you mean "body" or "expect_body"?'],
    ['owner', ''],
  ];
  for (const [column, hint] of cases) {
    const file = await suite(`${column}.csv`, `id,url,${column}\nT1,/a,x\nT2,/b,y\n`);
    const r = await split([file]);
    assert.equal(r.code, 2, column);
    assert.equal(r.stdout, '', 'nothing written');
    const expected =
      `capi-split: ${file}:1: column 3 "${column}" is not a suite column and no {{template}} uses it, so it would check nothing` +
      `${hint ? `; ${hint}` : ''} (a variable: --vars-columns ${column}, or name it var.${column})\n`;
    assert.equal(r.stderr, expected);
  }
  // a near-miss of a suite column is refused at the header, before any row is read
  const typo = await split([await suite('typo.csv', 'id,url,expected_body\nT1,/a,x\n')]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /typo\.csv:1: column "expected_body" is not a suite column; did you mean "expect_body"\?/);
});

test('a column is a variable when a template in any row uses it, or when it is declared', async () => {
  // the only use is in the last row, in an expectation
  const used = await split([
    await suite(
      'used.csv',
      'id,url,expect_body,region,tenant\nT1,/a,,eu,a\nT2,/b,{{ region }},us,b\nT3,/{{tenant}},,x,c\n',
    ),
  ]);
  assert.equal(used.code, 0, used.stderr);
  assert.deepEqual(
    (parseLines(used.stdout) as TestRecord[]).map((t) => t.vars),
    [
      { region: 'eu', tenant: 'a' },
      { region: 'us', tenant: 'b' },
      { region: 'x', tenant: 'c' },
    ],
  );
  const declared = await split([
    await suite('declared.csv', 'id,url,Region,var.zone,json\nT1,/a,eu,z1,{}\n'),
    '--vars-columns',
    'region,JSON',
  ]);
  assert.equal(declared.code, 0, declared.stderr);
  assert.deepEqual((parseLines(declared.stdout)[0] as TestRecord).vars, { Region: 'eu', 'var.zone': 'z1', json: '{}' });
  // a template in a cell capi-exec does not expand (the name) uses nothing
  const inName = await split([await suite('in-name.csv', 'id,name,url,json\nT1,{{json}},/a,{}\n')]);
  assert.equal(inName.code, 2);
  assert.match(inName.stderr, /column 4 "json" is not a suite column and no \{\{template\}\} uses it/);
  const unknown = await split([await suite('decl-typo.csv', 'id,url,region\nT1,/a,eu\n'), '--vars-columns', 'regoin']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /decl-typo\.csv:1: --vars-columns: the header has no column "regoin"\n/);
  const known = await split([await suite('decl-known.csv', 'id,url\nT1,/a\n'), '--vars-columns', 'url']);
  assert.equal(known.code, 2);
  assert.match(known.stderr, /--vars-columns: "url" is a suite column, not a variable/);
  const empty = await split(['used.csv', '--vars-columns', ',']);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--vars-columns needs at least one column name\nTry 'capi-split --help'/);
});

test('a template that names no column, variable or namespace is refused at its row, naming the nearest name', async () => {
  const cases: Array<[string, string, string]> = [
    [
      'id,url,item_id\nT1,/items/{{item_id}},1\nT2,/items/{{itemid}},2\n',
      '3: field "url"',
      '{{itemid}}',
      '{{item_id}}',
    ],
    ['id,url,body,Region\nT1,/a,"{""r"": ""{{region}}""}",eu\n', '2: field "body"', '{{region}}', '{{Region}}'],
    ['id,url,headers,tenant\nT1,/a,X-T: {{tenat}},t\n', '2: field "headers"', '{{tenat}}', '{{tenant}}'],
    ['id,url,expect_json\nT1,/a,"{""id"": ""{{ids}}""}"\n', '2: field "expect_json"', '{{ids}}', '{{id}}'],
    ['id,url,body\nT1,/a,{{code}}\n', '2: field "body"', '{{code}}', ''],
    ['id,url\nT1,/a/{{secret.TOKEN}}\n', '2: field "url"', '{{secret.TOKEN}}', ''],
  ].map(([text, where, name, near]) => [
    text as string,
    `${where}: template ${name} names no column, variable or namespace${near ? `; did you mean ${near}?` : ''}`,
    name as string,
  ]);
  for (const [text, message, name] of cases) {
    const file = await suite('tpl.csv', text);
    const r = await split([file]);
    assert.equal(r.code, 2, name);
    assert.equal(r.stderr, `capi-split: tpl.csv:${message}\n`, name);
    assert.equal(r.stdout, '');
  }
  // the test's own id and name, and the environment, are always there
  const own = await split([
    await suite('own.csv', 'id,name,url,headers\nT1,n,/{{id}}/{{name}},X-K: {{env.API_KEY}}\n'),
  ]);
  assert.equal(own.code, 0, own.stderr);
  // --lenient skips such a row like any bad row
  const lenient = await split([
    await suite('len.csv', 'id,url,v\nT1,/{{v}},1\nT2,/{{w}},2\nT3,/{{v}},3\n'),
    '--lenient',
  ]);
  assert.equal(lenient.code, 0);
  assert.deepEqual(
    (parseLines(lenient.stdout) as TestRecord[]).map((t) => t.id),
    ['T1', 'T3'],
  );
  assert.match(
    lenient.stderr,
    /len\.csv:3: field "url": template \{\{w\}\} names no column, variable or namespace; did you mean \{\{v\}\}\? \(row skipped\)/,
  );
  // NDJSON test records: their own vars are the variables
  const record = (vars: object, url: string) =>
    `${JSON.stringify({ id: 'a', request: { method: 'GET', url }, vars })}\n`;
  const nd = await split(['-'], record({ region: 'eu' }, '/{{regoin}}'));
  assert.equal(nd.code, 2);
  assert.equal(
    nd.stderr,
    'capi-split: <stdin>:1: field "request.url": template {{regoin}} names no column, variable or namespace; did you mean {{region}}?\n',
  );
  assert.equal((await split(['-'], record({ region: 'eu' }, '/{{region}}'))).code, 0);
  const ndVars = await split(['-', '--vars-columns', 'region'], record({ region: 'eu' }, '/{{region}}'));
  assert.equal(ndVars.code, 2);
  assert.equal(
    ndVars.stderr,
    'capi-split: <stdin>: --vars-columns names CSV columns; NDJSON test records carry their own vars\n',
  );
});

test('with --out an unused column found at the end of the input writes nothing', async () => {
  let text = 'id,url,checksum\n';
  for (let i = 0; i < 5000; i++) text += `T${i},/items/${i},abc\n`;
  const r = await split([await suite('big-unused.csv', text), '--out', 'batches']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^capi-split: big-unused\.csv:1: column 3 "checksum" is not a suite column/);
  assert.ok(!(await readdir(tmp.path)).some((n) => n.startsWith('batches')), 'no folder, no temp folder');
});

test('on stdout, records already streamed before an error at the end are owned up to', async () => {
  let text = 'id,url,checksum\n';
  for (let i = 0; i < 20_000; i++) text += `T${i},/items/${i}/a-long-enough-path-to-fill-the-buffer-quickly,abc\n`;
  const r = await split([await suite('big-stdout.csv', text)]);
  assert.equal(r.code, 2);
  const written = parseLines(r.stdout).length;
  assert.ok(written > 0 && written <= 20_000, `${written}`);
  const [first, second, rest] = r.stderr.split('\n');
  assert.match(first as string, /^capi-split: big-stdout\.csv:1: column 3 "checksum" is not a suite column/);
  const said =
    /^capi-split: ([\d,]+) records were already written to stdout before this error: that output is incomplete$/.exec(
      second as string,
    );
  assert.ok(said, second);
  assert.equal(Number((said[1] as string).replace(/,/g, '')), written);
  assert.equal(rest, '');
});

test('__proto__, constructor and prototype columns are kept as variables, never dropped', async () => {
  const r = await split([
    await suite(
      'proto.csv',
      'id,url,__proto__,constructor,prototype\nT1,/{{__proto__}}/{{constructor}}/{{prototype}},p,c,q\n',
    ),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.trim();
  assert.ok(line.includes('"vars":{"__proto__":"p","constructor":"c","prototype":"q"}'), line);
  const vars = (JSON.parse(line) as TestRecord).vars;
  assert.deepEqual(Object.keys(vars), ['__proto__', 'constructor', 'prototype']);
  assert.equal(Object.getPrototypeOf(vars), Object.prototype, 'the prototype is untouched');
  // without a use or a declaration they are refused like any other column, not dropped
  const unused = await split([await suite('proto2.csv', 'id,url,__proto__\nT1,/a,p\n')]);
  assert.equal(unused.code, 2);
  assert.match(unused.stderr, /column 3 "__proto__" is not a suite column/);
  // a template naming one that is not a column is refused, not read from Object.prototype
  const inherited = await split([await suite('proto3.csv', 'id,url\nT1,/{{constructor}}\n')]);
  assert.equal(inherited.code, 2);
  assert.match(inherited.stderr, /template \{\{constructor\}\} names no column/);
});

test('capi-exec expands a __proto__ or constructor variable from capi-split, as any other', async () => {
  const server = createServer((req, res) => res.end(req.url));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const split1 = await split([
      await suite('proto-exec.csv', 'id,url,__proto__,constructor\nT1,/echo/{{__proto__}}/{{constructor}},p,c\n'),
    ]);
    assert.equal(split1.code, 0, split1.stderr);
    const exec = await runTool('capi-exec', ['--base-url', `http://127.0.0.1:${port}`], { input: split1.stdout });
    assert.equal(exec.code, 0, exec.stderr);
    const [res] = parseLines(exec.stdout) as Array<{ status: string; response: { bytes: number } }>;
    assert.equal(res?.status, 'passed');
    assert.equal(res?.response.bytes, '/echo/p/c'.length, 'both variables expanded');
  } finally {
    server.close();
  }
});

test('{{var.NAME}} names a run variable (--var at run time): accepted without a column, kept as written', async () => {
  const r = await split([await suite('run-var.csv', 'id,url\nT1,/items/{{var.item}}\nT2,/r/{{ var.region }}\n')]);
  assert.equal(r.code, 0, r.stderr);
  const urls = (parseLines(r.stdout) as TestRecord[]).map((rec) => rec.request.url);
  assert.deepEqual(urls, ['/items/{{var.item}}', '/r/{{ var.region }}']);
  // a bare namespace is no name
  const bare = await split([await suite('bare-var.csv', 'id,url\nT1,/items/{{var.}}\n')]);
  assert.equal(bare.code, 2, bare.stderr);
  assert.match(bare.stderr, /bare-var\.csv:2: .*template \{\{var\.\}\} names no column, variable or namespace/);
});

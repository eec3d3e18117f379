import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { effectiveBaseUrl, hasBaseUrl, refuseRelativeUrlsIn, surelyRelative } from './base-url.js';
import { overrideExecArgs } from './exec-flag-list.js';

test('surelyRelative: paths are; absolute URLs, other schemes and URLs starting with a template are not', () => {
  for (const u of ['/items/1', ' /x', 'items/1', '/items/{{item_id}}', 'items/{{id}}', '?q={{q}}', '?q=1'])
    assert.equal(surelyRelative(u), true, u);
  for (const u of [
    'http://h/x',
    'HTTPS://h/x',
    'ftp://h',
    '{{env.API}}/items',
    'http{{s}}://h/x',
    'https://{{host}}/x',
  ])
    assert.equal(surelyRelative(u), false, u);
});

test('hasBaseUrl: the last --base-url flag, else a non-empty CAPI_BASE_URL', () => {
  assert.equal(hasBaseUrl(['--timeout', '5', '--base-url', 'http://h'], {}), true);
  assert.equal(hasBaseUrl([], { CAPI_BASE_URL: 'http://h' }), true);
  assert.equal(hasBaseUrl([], { CAPI_BASE_URL: '' }), false);
  assert.equal(hasBaseUrl(['--header', 'X: 1'], {}), false);
});

test('effectiveBaseUrl: as capi-exec records it; a stored --force is dropped by the next resume', () => {
  assert.equal(effectiveBaseUrl(['--base-url', 'http://h:1/api/'], {}), 'http://h:1/api');
  assert.equal(effectiveBaseUrl([], { CAPI_BASE_URL: 'http://h:2' }), 'http://h:2');
  assert.equal(effectiveBaseUrl([], {}), null);
  assert.deepEqual(overrideExecArgs(['--base-url', 'http://a', '--force', '--fsync'], []), [
    '--base-url',
    'http://a',
    '--fsync',
  ]);
});

test("a relative URL is refused naming the suite's own field: url in a CSV suite, request.url in NDJSON (BOM, blanks)", async () => {
  const d = await mkdtemp(join(tmpdir(), 'capi-base-url-'));
  try {
    const records = join(d, 'batch_0001.ndjson');
    const refusal = async (suite: string, text: string) => {
      await writeFile(suite, text);
      const rec = { id: 'T1', request: { url: '/items/1' }, source: { file: suite, line: 2 } };
      await writeFile(records, `${JSON.stringify(rec)}\n`);
      return refuseRelativeUrlsIn([records], suite).then(
        () => '',
        (e: Error) => e.message,
      );
    };
    assert.match(
      await refusal(join(d, 's.csv'), 'id,url\nT1,/items/1\n'),
      /s\.csv:2: field "url": relative URL "\/items\/1"/,
    );
    const ndjson = '\uFEFF \n{"id":"T1","request":{"url":"/items/1"}}\n';
    assert.match(await refusal(join(d, 's.ndjson'), ndjson), /field "request\.url": relative URL/);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});

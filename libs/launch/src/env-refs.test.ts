import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchIndex } from '@capi/core';
import { fileSha256, lookAtSuite } from './create-run.js';
import { envMarkScanner, mentionsEnv, refuseMissingEnv } from './env-refs.js';

test('mentionsEnv finds `env.` anywhere in a batch file, also cut in two by its 1 MiB reads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-env-refs-'));
  try {
    const MiB = 1024 * 1024;
    const cases: Array<[string, string, boolean]> = [
      ['empty', '', false],
      ['small, none', '{"id":"a","request":{"url":"/items/1"}}\n', false],
      ['small, one', '{"id":"a","request":{"url":"{{env.API}}/items"}}\n', true],
      ['large, none', 'x'.repeat(3 * MiB), false],
      ...[1, 2, 3].map((k): [string, string, boolean] => [
        `cut after ${k} of its 4 bytes at the first read's end`,
        `${'x'.repeat(MiB - k)}env.${'x'.repeat(100)}`,
        true,
      ]),
      ['at the very end of a large file', `${'x'.repeat(2 * MiB + 7)}env.`, true],
      ['env without its dot', `${'x'.repeat(MiB - 2)}env${'x'.repeat(10)}`, false],
    ];
    for (const [name, text, want] of cases) {
      const file = join(dir, 'batch.ndjson');
      await writeFile(file, text);
      assert.equal(mentionsEnv(file), want, name);
    }
    assert.throws(() => mentionsEnv(join(dir, 'missing.ndjson')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('envMarkScanner finds `env.` and a `\\u` escape wherever the chunks cut them, and nothing else', () => {
  const cases: Array<[string, boolean]> = [
    ['id,url\nT1,/items/1\nT2,/v2.0/dev.example/items\n', false],
    ['id,url\nT1,{{env.API}}/items\n', true],
    ['{"id":"a","request":{"url":"{{\\u0065nv.API}}/items"}}\n', true],
    ['id,url,expect_json\nT1,/a,"{""x"":""\\u00e9""}"\n', true],
    ['env without its dot, and a lone \\ backslash u-less\n', false],
    ['ENV.X and Env.X are not the mark\n', false],
  ];
  for (const [text, want] of cases) {
    const bytes = Buffer.from(text);
    // whole, then cut in two at every place, then one byte at a time
    const cuts: Buffer[][] = [[bytes]];
    for (let k = 0; k <= bytes.length; k++) cuts.push([bytes.subarray(0, k), bytes.subarray(k)]);
    cuts.push([...bytes].map((b) => Buffer.from([b])));
    for (const chunks of cuts) {
      const s = envMarkScanner();
      for (const c of chunks) s.push(c);
      assert.equal(s.found, want, `${JSON.stringify(text)} in ${chunks.length} chunk(s)`);
    }
  }
});

test('lookAtSuite: the sha256 fileSha256 gives and the env marks, over reads of 64 KiB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-env-look-'));
  try {
    const file = join(dir, 'suite.csv');
    const KiB = 1024;
    // the mark cut in two by the stream's 64 KiB chunks
    for (const [text, want] of [
      [`id,url\n${'x'.repeat(64 * KiB - 9)}\nT1,{{env.A}}\n`, true],
      [`id,url\n${'T1,/a\n'.repeat(30_000)}`, false],
    ] as const) {
      await writeFile(file, text);
      const look = await lookAtSuite(file);
      assert.equal(look.mayUseEnv, want);
      assert.equal(look.sha256, await fileSha256(file));
      assert.equal(look.sha256, createHash('sha256').update(text).digest('hex'));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuseMissingEnv reads no batch file when told the batches cannot name an env variable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-env-skip-'));
  try {
    await mkdir(join(dir, 'batches'));
    await writeFile(
      join(dir, 'batches', 'batch_0001.ndjson'),
      `${JSON.stringify({
        id: 'a',
        name: 'a',
        seq: 0,
        request: { method: 'GET', url: '{{env.NOPE}}/a', headers: {}, body: null },
        expect: { status: '2xx', body: null, json: null, maxMs: null },
        timeoutMs: null,
        tags: [],
        enabled: true,
        vars: {},
      })}\n`,
    );
    await writeFile(join(dir, 'suite.ndjson'), '');
    const index = { total: 1, batches: [{ batch: 'batch_0001', count: 1 }] } as unknown as BatchIndex;
    const base = { runDir: dir, index, suite: join(dir, 'suite.ndjson'), execArgs: [], env: {} };
    await assert.rejects(refuseMissingEnv(base), /\{\{env\.NOPE\}\} is not allowed/);
    await refuseMissingEnv({ ...base, batchesMayUseEnv: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

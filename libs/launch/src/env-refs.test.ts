import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mentionsEnv } from './env-refs.js';

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

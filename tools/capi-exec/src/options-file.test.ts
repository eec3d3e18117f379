import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileScope, get, ndjson, spawnExec } from './test-support/fixtures.js';

const scope = fileScope();

test('--options-file: flags from a JSON array of words act as if given, kept off argv', async () => {
  const dir = await scope.scratch();
  const seen: string[] = [];
  const server = await scope.server((req, res) => {
    seen.push(String(req.headers.authorization));
    res.end('ok');
  });
  const file = join(dir, 'opts.json');
  writeFileSync(file, JSON.stringify(['--base-url', server.url, '--header', 'Authorization: Bearer from-file']), {
    mode: 0o600,
  });
  const r = await spawnExec(['--options-file', file], { input: ndjson([get('O1', '/o')]) }).done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(seen, ['Bearer from-file']);
  for (const [text, why] of [
    ['{"a":1}', /not a JSON array of strings/],
    ['["--x",', /opts\.json: .*JSON/],
    [JSON.stringify(['--options-file', file]), /may not name another --options-file/],
  ] as const) {
    writeFileSync(file, text);
    const bad = await spawnExec(['--options-file', file], { input: '' }).done;
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, why);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  }
  const missing = await spawnExec(['--options-file', join(dir, 'nope.json')], { input: '' }).done;
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.json: no such file/);
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ControlFile, parseRunControl, readRunControl, readRunControlSync } from './read-run-control.js';
import { controlRate, controlWorkers } from './run-control.js';

const dir = mkdtempSync(join(tmpdir(), 'capi-read-run-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The file at `path` read by both readers, which must agree. */
async function read(path: string): Promise<ControlFile | null> {
  const sync = readRunControlSync(path);
  const promised = await readRunControl(path);
  assert.deepEqual(sync, promised, path);
  return promised;
}

test('control.json as capi-launch writes it: its text and its fields', async () => {
  const text = '{"paused":true,"rate":"50/s","concurrency":8,"workers":2}\n';
  writeFileSync(join(dir, 'good.json'), text);
  assert.deepEqual(await read(join(dir, 'good.json')), {
    text,
    control: { paused: true, rate: '50/s', concurrency: 8, workers: 2 },
  });
});

test('no file is null; a folder in its place is thrown, not read as none', async () => {
  assert.equal(await read(join(dir, 'missing.json')), null);
  mkdirSync(join(dir, 'folder.json'));
  assert.throws(() => readRunControlSync(join(dir, 'folder.json')), { code: 'EISDIR' });
  await assert.rejects(readRunControl(join(dir, 'folder.json')), { code: 'EISDIR' });
});

test("not JSON (empty, cut short, a hand edit) is damaged, with JSON.parse's reason and the text", async () => {
  for (const text of ['', '{"paused":tr', 'paused: true', '{"rate":"5/s"}}']) {
    const got = parseRunControl(text);
    assert.ok('damaged' in got, JSON.stringify(text));
    assert.equal(got.text, text);
    assert.match(got.damaged, /JSON|Unexpected|end/i, got.damaged);
  }
  writeFileSync(join(dir, 'torn.json'), '{"paused":tr');
  const torn = await read(join(dir, 'torn.json'));
  assert.ok(torn !== null && 'damaged' in torn);
});

test('JSON that is no object (null, a list, a number, a string) is every field missing, as {} is', () => {
  for (const text of ['null', '[]', '["rate"]', '5', '"50/s"', 'true']) {
    const got = parseRunControl(text);
    assert.deepEqual(got, { text, control: {} }, text);
    if (!('control' in got)) continue;
    // so no limit is read out of it: core's rules find nothing they take
    assert.equal(controlRate(got.control), undefined, text);
    assert.equal(controlWorkers(got.control), undefined, text);
    assert.notEqual(got.control.paused, true);
  }
});

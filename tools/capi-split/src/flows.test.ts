import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchIndex, TestRecord } from '@capi/core';
import { killAll, parseLines, repoRoot, runTool, tempDir } from '@capi/testkit';

const flows = join(repoRoot, 'examples', 'flows.csv');
const split = (args: string[], input?: string) => runTool('capi-split', args, { cwd: repoRoot, input });

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-split-flows-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

test('the example flows suite: batches hold whole flows, grow to do it and say so; setup and teardown in each', async () => {
  const out = join(tmp.path, 'batches');
  const r = await split([flows, '--out', out, '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /capi-split: batch_0001 holds 14 tests, more than --batch-size 10, to keep flow "item-02" whole\n/,
  );
  assert.match(
    r.stderr,
    /wrote 6 batch files, 84 tests, and index\.json to .*; each batch also carries 1 setup row and 1 teardown row\n$/,
  );
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as BatchIndex;
  const owner = new Map<string, string>();
  for (const b of index.batches) {
    const records = parseLines(await readFile(join(out, b.file), 'utf8')) as TestRecord[];
    assert.equal(records[0]?.phase, 'setup');
    assert.equal(records.at(-1)?.phase, 'teardown');
    assert.equal(records.filter((t) => t.phase === undefined).length, b.count);
    for (const t of records)
      if (t.flow) {
        assert.equal(owner.get(t.flow) ?? b.batch, b.batch, `${t.flow} in one batch`);
        owner.set(t.flow, b.batch);
      }
  }
  assert.equal(owner.size, 12);
});

test('a bad capture cell is exit 2 naming file, line and field; nothing is written', async () => {
  const suite = join(tmp.path, 'bad.csv');
  await writeFile(suite, 'id,url,capture,flow\nT1,/a,item=json:$.id,f\nT2,/b/{{item}},item=jsn:$.id,f\n');
  const out = join(tmp.path, 'never');
  const r = await split([suite, '--out', out]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /bad\.csv:3: field "capture": capture "item": unknown capture source "jsn:\$\.id"/);
  await assert.rejects(readFile(join(out, 'index.json')));
});

test('a template captured only in another flow is exit 2 that says so', async () => {
  const r = await split(['-'], 'id,url,capture,flow\nA,/a,item=json:$.id,f1\nB,/b/{{item}},,f2\n');
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /<stdin>:3: field "url": template \{\{item\}\} is captured only in flow "f1", not in flow "f2": a flow's captures are its own/,
  );
});

test('--shard N/N over the example suite: every flow in exactly one shard, login in all', async () => {
  const owner = new Map<string, number>();
  for (let k = 1; k <= 4; k++) {
    const r = await split([flows, '--shard', `${k}/4`]);
    assert.equal(r.code, 0, r.stderr);
    const records = parseLines(r.stdout) as TestRecord[];
    assert.equal(records[0]?.id, 'login');
    assert.equal(records.at(-1)?.id, 'still-logged-in');
    for (const t of records) {
      if (!t.flow) continue;
      assert.equal(owner.get(t.flow) ?? k, k);
      owner.set(t.flow, k);
    }
  }
  assert.equal(owner.size, 12);
});

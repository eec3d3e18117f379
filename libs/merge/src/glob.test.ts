import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { expandGlob, hasGlob } from './glob.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'capi-glob-'));
  for (const f of [
    'a/results/b1.ndjson',
    'a/results/b2.ndjson',
    'a/results/.hidden.ndjson',
    'b/results/b1.ndjson',
    'b/results/notes.txt',
    'c/deep/x/results/b9.ndjson',
  ])
    await mkdir(join(root, f, '..'), { recursive: true }).then(() => writeFile(join(root, f), ''));
});
after(() => rm(root, { recursive: true, force: true }));

const rel = (paths: string[]) => paths.map((p) => relative(root, p));

test('* and ? match within a segment, sorted, hidden files only when asked', async () => {
  assert.deepEqual(rel(await expandGlob('*/results/*.ndjson', root)), [
    'a/results/b1.ndjson',
    'a/results/b2.ndjson',
    'b/results/b1.ndjson',
  ]);
  assert.deepEqual(rel(await expandGlob('a/results/b?.ndjson', root)), ['a/results/b1.ndjson', 'a/results/b2.ndjson']);
  assert.deepEqual(rel(await expandGlob('a/results/.*', root)), ['a/results/.hidden.ndjson']);
  assert.deepEqual(rel(await expandGlob('[ab]/results/b1.ndjson', root)), [
    'a/results/b1.ndjson',
    'b/results/b1.ndjson',
  ]);
});

test('** crosses folders; no match is an empty list; no wildcard returns the path', async () => {
  assert.deepEqual(rel(await expandGlob('**/results/*.ndjson', root)), [
    'a/results/b1.ndjson',
    'a/results/b2.ndjson',
    'b/results/b1.ndjson',
    'c/deep/x/results/b9.ndjson',
  ]);
  assert.deepEqual(await expandGlob('zzz/*.ndjson', root), []);
  assert.deepEqual(rel(await expandGlob('a/none.ndjson', root)), ['a/none.ndjson']);
  assert.equal(hasGlob('a/b.ndjson'), false);
});

test('a trailing ** matches every file below, hidden ones left out', async () => {
  assert.deepEqual(rel(await expandGlob('a/**', root)), ['a/results/b1.ndjson', 'a/results/b2.ndjson']);
  assert.deepEqual(rel(await expandGlob('**', root)), [
    'a/results/b1.ndjson',
    'a/results/b2.ndjson',
    'b/results/b1.ndjson',
    'b/results/notes.txt',
    'c/deep/x/results/b9.ndjson',
  ]);
});

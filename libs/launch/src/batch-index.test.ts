import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readBatchIndex } from './create-run.js';

const root = await mkdtemp(join(tmpdir(), 'capi-launch-batch-index-'));
after(() => rm(root, { recursive: true, force: true }));

test("readBatchIndex names the folder a capi-split --force left a run's batches in, and the remedy", async () => {
  const run = join(root, 'run');
  await mkdir(run);
  await assert.rejects(readBatchIndex(run), {
    message: `${join(run, 'batches', 'index.json')}: no batch index (did capi-split write its batches?)`,
  });
  const aside = join(run, '.batches.old-123-abc-0a1b2c3d-Xy12Zq');
  await mkdir(aside);
  await assert.rejects(readBatchIndex(run), {
    message: `${join(run, 'batches')} is missing: ${aside} beside it holds its batches, set aside by a capi-split --force that did not finish; the next capi-split --out ${join(run, 'batches')} puts them back (or rename it to ${join(run, 'batches')})`,
  });
});

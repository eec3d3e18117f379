import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readRunFolder } from './run-folder.js';

const root = await mkdtemp(join(tmpdir(), 'capi-merge-run-folder-'));
after(() => rm(root, { recursive: true, force: true }));

test('a run whose batches/ a capi-split --force left aside is refused, naming the folder that holds them: without them no test would count as missing', async () => {
  const run = join(root, 'run');
  const aside = join(run, '.batches.old-123-abc-0a1b2c3d-Xy12Zq');
  await mkdir(join(run, 'results'), { recursive: true });
  await mkdir(aside);
  await writeFile(join(aside, 'batch_0001.ndjson'), '');
  await writeFile(join(run, 'results', 'batch_0001.ndjson'), '');
  await assert.rejects(readRunFolder(run, 'run'), {
    message: `run: ${join(run, 'batches')} is missing: ${aside} beside it holds its batches, set aside by a capi-split --force that did not finish; the next capi-split --out ${join(run, 'batches')} puts them back (or rename it to ${join(run, 'batches')})`,
  });
  await rm(aside, { recursive: true });
  assert.deepEqual((await readRunFolder(run, 'run')).batchFiles, [], 'nothing aside: read as before');
});

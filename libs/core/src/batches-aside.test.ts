import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { asidePrefix, setAsideNote, setAsideNoteSync } from './batches-aside.js';

const root = await mkdtemp(join(tmpdir(), 'capi-core-aside-'));
after(() => rm(root, { recursive: true, force: true }));

test('a batches folder a capi-split --force left aside is named with its remedy; nothing else is', async () => {
  const run = join(root, 'run');
  const batches = join(run, 'batches');
  await mkdir(run);
  assert.equal(await setAsideNote(batches), null, 'missing, and nothing aside');
  assert.equal(setAsideNoteSync(batches), null);
  const old = join(run, `${asidePrefix(batches, 'old')}123-abc-0a1b2c3d-Xy12Zq`);
  await mkdir(join(run, `${asidePrefix(batches, 'tmp')}123-abc-0a1b2c3d-Ab12Cd`));
  await mkdir(old);
  const said = `${batches} is missing: ${old} beside it holds its batches, set aside by a capi-split --force that did not finish; the next capi-split --out ${batches} puts them back (or rename it to ${batches})`;
  assert.equal(await setAsideNote(batches), said);
  assert.equal(setAsideNoteSync(batches), said);
  await mkdir(batches);
  assert.equal(await setAsideNote(batches), null, 'present: its old folder is a replacement being finished');
  assert.equal(setAsideNoteSync(batches), null);
});

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readIfExists, readIfExistsSync } from './read-if-exists.js';

const dir = mkdtempSync(join(tmpdir(), 'capi-read-if-exists-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const both = async (path: string) => {
  const sync = (() => {
    try {
      return { text: readIfExistsSync(path) };
    } catch (err) {
      return { code: (err as NodeJS.ErrnoException).code };
    }
  })();
  const promised = await readIfExists(path).then(
    (text) => ({ text }),
    (err: NodeJS.ErrnoException) => ({ code: err.code }),
  );
  assert.deepEqual(sync, promised, `${path}: the sync and async readers agree`);
  return promised;
};

test('a file is its text (UTF-8, an empty one empty); no file at the path is null', async () => {
  writeFileSync(join(dir, 'a.json'), '{"é":1}\n');
  writeFileSync(join(dir, 'empty'), '');
  assert.deepEqual(await both(join(dir, 'a.json')), { text: '{"é":1}\n' });
  assert.deepEqual(await both(join(dir, 'empty')), { text: '' });
  assert.deepEqual(await both(join(dir, 'missing.json')), { text: null });
  assert.deepEqual(await both(join(dir, 'no-folder', 'x.json')), { text: null });
});

test('anything else than a missing file is thrown, not read as none: a folder, a path through a file, no permission', async () => {
  mkdirSync(join(dir, 'folder'));
  assert.deepEqual(await both(join(dir, 'folder')), { code: 'EISDIR' });
  writeFileSync(join(dir, 'file'), 'x');
  assert.deepEqual(await both(join(dir, 'file', 'below')), { code: 'ENOTDIR' });
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'secret'), 'x');
    chmodSync(join(dir, 'secret'), 0);
    assert.deepEqual(await both(join(dir, 'secret')), { code: 'EACCES' });
  }
});

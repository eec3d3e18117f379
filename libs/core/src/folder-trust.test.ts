import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cacheFolderReady } from './code-cache.js';
import { folderTrusted, othersMayWriteIn, ownedByUidOrRoot } from './folder-trust.js';
import { checkRunsFolder } from './owner.js';

const ME = 1000;
const OTHER = 12345;
const st = (uid: number, mode: number) => ({ uid, mode: 0o040000 | mode });

test('a folder is trusted when owned by this user or root and no one else may write in it, unless sticky', () => {
  for (const [uid, mode, trusted] of [
    [ME, 0o700, true],
    [ME, 0o755, true],
    [0, 0o755, true],
    [ME, 0o775, false],
    [ME, 0o757, false],
    [ME, 0o777, false],
    [0, 0o777, false],
    [ME, 0o1777, true],
    [0, 0o1777, true],
    [ME, 0o1775, true],
    [OTHER, 0o755, false],
    [OTHER, 0o700, false],
    [OTHER, 0o1777, false],
  ] as const)
    assert.equal(folderTrusted(st(uid, mode), ME), trusted, `uid ${uid} mode ${mode.toString(8)}`);
  assert.equal(ownedByUidOrRoot({ uid: 0 }, ME), true);
  assert.equal(ownedByUidOrRoot({ uid: OTHER }, ME), false);
  assert.equal(othersMayWriteIn({ mode: 0o720 }), true);
  assert.equal(othersMayWriteIn({ mode: 0o702 }), true);
  assert.equal(othersMayWriteIn({ mode: 0o1722 }), false);
});

const dir = mkdtempSync(join(tmpdir(), 'capi-folder-trust-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("owner.ts's refusal of a runs folder and the code cache's trust of a cache folder's parent are one rule", () => {
  const root = process.getuid?.() === 0;
  const owners = root ? [0, OTHER] : [process.getuid?.() ?? 0];
  let n = 0;
  for (const owner of owners)
    for (const mode of [0o700, 0o755, 0o775, 0o757, 0o777, 0o1777, 0o1775]) {
      const parent = join(dir, `p${n++}`);
      // the cache folder of ours made first, then the folder above given its owner and mode
      mkdirSync(join(parent, 'cache'), { recursive: true, mode: 0o700 });
      chmodSync(parent, mode);
      if (root) chownSync(parent, owner, owner);
      const refused = (() => {
        try {
          checkRunsFolder(parent);
          return false;
        } catch {
          return true;
        }
      })();
      const what = `owner ${owner} mode ${mode.toString(8)}`;
      assert.equal(cacheFolderReady(join(parent, 'cache')), !refused, what);
      assert.equal(refused, !folderTrusted(st(owner, mode), process.getuid?.() ?? -1), what);
    }
});

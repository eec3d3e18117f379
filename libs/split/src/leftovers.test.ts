import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { processStartMs } from '@capi/core';
import { makeTempFolder } from './aside-names.js';
import { clearLeftovers } from './leftovers.js';

const root = await mkdtemp(join(tmpdir(), 'capi-split-temp-'));
after(() => rm(root, { recursive: true, force: true }));

const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

test("clearLeftovers removes only what is provably this user's and abandoned, and names what it cannot judge", async () => {
  const parent = join(root, 'a');
  await mkdir(parent);
  const target = join(parent, 'out');
  const mine = await makeTempFolder(target);
  const host = (/-([0-9a-f]{8})-[A-Za-z0-9]{6}$/.exec(mine) as RegExpExecArray)[1];
  const start = Math.round(processStartMs(process.pid) as number).toString(36);
  const dead = `.out.tmp-${deadPid()}-${start}-${host}-aaaaaa`;
  const reused = `.out.tmp-${process.pid}-1-${host}-bbbbbb`;
  const foreign = `.out.tmp-${deadPid()}-${start}-${host === '00000000' ? '11111111' : '00000000'}-cccccc`;
  const older = '.out.tmp-Xy12Zq';
  const file = `.out.tmp-${deadPid()}-${start}-${host}-dddddd`;
  const link = `.out.tmp-${deadPid()}-${start}-${host}-eeeeee`;
  for (const name of [dead, reused, foreign, older]) await mkdir(join(parent, name, 'x'), { recursive: true });
  await writeFile(join(parent, file), '');
  const elsewhere = join(root, 'elsewhere');
  await mkdir(elsewhere);
  await symlink(elsewhere, join(parent, link));
  const other = `.out.tmp-${deadPid()}-${start}-${host}-ffffff`;
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await mkdir(join(parent, other));
    await chown(join(parent, other), 65534, 65534);
  }
  const notes: string[] = [];
  await clearLeftovers(
    target,
    (t) => notes.push(t),
    async (path) => assert.fail(`no old folder here: ${path}`),
  );
  const left = (await readdir(parent)).sort();
  const kept = [mine.slice(parent.length + 1), foreign, older, file, link, ...(asRoot ? [other] : [])].sort();
  assert.deepEqual(left, kept);
  assert.deepEqual(await readdir(elsewhere), [], 'a symlink is not followed');
  const said = notes.join('\n');
  assert.match(said, new RegExp(`removed \\S+${dead}: left by a capi-split that is gone \\(pid \\d+ has ended\\)`));
  assert.match(
    said,
    new RegExp(
      `removed \\S+${reused}: left by a capi-split that is gone \\(pid ${process.pid} is now another process\\)`,
    ),
  );
  assert.match(said, new RegExp(`${foreign}: left beside \\S+ \\(made on another machine\\): not removed`));
  assert.match(
    said,
    new RegExp(`${older}: left beside \\S+ \\(a name without its maker, of an older capi-split\\?\\): not removed`),
  );
  assert.match(said, new RegExp(`${file}: left beside \\S+ \\(not a folder\\)`));
  assert.match(said, new RegExp(`${link}: left beside \\S+ \\(not a folder\\)`));
  if (asRoot) assert.match(said, new RegExp(`${other}: left beside \\S+ \\(another user's \\(uid 65534\\)\\)`));
  assert.ok(!said.includes(mine), "a live split's folder: not a word");
  assert.equal(notes.length, asRoot ? 7 : 6);
});

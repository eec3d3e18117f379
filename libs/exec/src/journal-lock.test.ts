import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '@capi/core';
import { lockJournal, lockPath } from './journal-lock.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'capi-lock-'));
  dirs.push(d);
  return d;
}

test('one holder at a time; release frees it; the folder is made when missing', async () => {
  const journal = join(await scratch(), 'results', 'j.ndjson');
  const logs: string[] = [];
  const lock = await lockJournal(journal, (l) => logs.push(l));
  assert.equal(JSON.parse(await readFile(lockPath(journal), 'utf8')).pid, process.pid);
  await assert.rejects(
    lockJournal(journal, () => {}),
    {
      message: `journal ${journal} is in use by capi-exec pid ${process.pid}`,
      exitCode: 3,
    },
  );
  lock.release();
  assert.ok(!existsSync(lockPath(journal)));
  (await lockJournal(journal, () => {})).release();
  assert.deepEqual(logs, []);
});

test('a dead pid or an unreadable lock is stale and taken over; release leaves a lock that is not its own', async () => {
  const journal = join(await scratch(), 'j.ndjson');
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
  assert.equal(pidAlive(dead), false);
  assert.equal(pidAlive(process.pid), true);
  const logs: string[] = [];
  await writeFile(lockPath(journal), JSON.stringify({ pid: dead, host: hostname(), since: 'x' }));
  const lock = await lockJournal(journal, (l) => logs.push(l));
  assert.deepEqual(logs, [
    `took over the stale lock ${lockPath(journal)} of capi-exec pid ${dead}, which is no longer running`,
  ]);
  // Someone else's lock now sits there: release must not remove it.
  await writeFile(lockPath(journal), 'not ours');
  lock.release();
  assert.equal(await readFile(lockPath(journal), 'utf8'), 'not ours');
  const again = await lockJournal(journal, (l) => logs.push(l));
  assert.equal(logs[1], `took over the unreadable lock ${lockPath(journal)}`);
  again.release();
  assert.ok(!existsSync(lockPath(journal)));
});

test('a lock whose pid now belongs to a process started after it (a reused pid) is stale', async () => {
  const journal = join(await scratch(), 'j.ndjson');
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  await writeFile(lockPath(journal), JSON.stringify({ pid: process.pid, host: hostname(), since: hourAgo }));
  const logs: string[] = [];
  const lock = await lockJournal(journal, (l) => logs.push(l));
  assert.match(logs[0] ?? '', /took over the stale lock/);
  lock.release();
});

test('many takers of one stale lock at once: exactly one gets it, the others are told who holds it', async () => {
  const journal = join(await scratch(), 'j.ndjson');
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
  await writeFile(lockPath(journal), JSON.stringify({ pid: dead, host: hostname(), since: 'x' }));
  const tries = await Promise.allSettled(Array.from({ length: 6 }, () => lockJournal(journal, () => {})));
  const won = tries.filter((t) => t.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const t of tries)
    if (t.status === 'rejected') assert.match(String(t.reason), new RegExp(`in use by capi-exec pid ${process.pid}`));
  (won[0] as PromiseFulfilledResult<{ release(): void }>).value.release();
  assert.deepEqual(
    (await readdir(dirname(journal))).filter((n) => n !== 'j.ndjson'),
    [],
    'no lock, guard or temp file left',
  );
});

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '@capi/core';
import { standInSupervisor } from '@capi/testkit';
import { summarizeRun } from './summarize-run.js';

const root = await mkdtemp(join(tmpdir(), 'capi-summarize-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

test('a run that completes while --status counts its journals is completed, not dead', async () => {
  const runDir = join(root, 'capi_test_20260101_000000');
  await mkdir(join(runDir, 'results'), { recursive: true });
  const supervisor = await standInSupervisor(runDir);
  after(() => supervisor.stop());
  const manifest = {
    id: 'capi_test_20260101_000000',
    method: 'nohup',
    state: 'running',
    verdict: null,
    total: 1,
    suite: { file: '/x' },
    options: {},
  };
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ ...manifest, pid: supervisor.pid }));
  await writeFile(join(runDir, 'supervisor.pid'), `${supervisor.pid}\n`);
  // The journal is a pipe: the count waits on it (blocking this thread), so another process
  // can end the run exactly while the journals are counted: once the count opens the pipe,
  // it writes run.json's last word, kills the supervisor, and only then gives the line.
  const journal = join(runDir, 'results', 'batch_0001.ndjson');
  execFileSync('mkfifo', [journal]);
  const ender = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs');
      const [journal, runJson, done, pid] = process.argv.slice(1);
      const fd = fs.openSync(journal, 'w');
      fs.writeFileSync(runJson + '.tmp', done);
      fs.renameSync(runJson + '.tmp', runJson);
      process.kill(Number(pid), 'SIGKILL');
      const gone = () => { try { return fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1][0] === 'Z'; } catch { return true; } };
      const until = Date.now() + 10000;
      while (!gone() && Date.now() < until);
      fs.writeSync(fd, JSON.stringify({ id: 'T1', name: 'T1', status: 'passed' }) + '\\n');
      fs.closeSync(fd);`,
      journal,
      join(runDir, 'run.json'),
      JSON.stringify({ ...manifest, state: 'completed', verdict: 'passed', pid: null }),
      String(supervisor.pid),
    ],
    { stdio: 'inherit' },
  );
  children.push(ender);
  await new Promise((resolve) => ender.once('spawn', resolve));
  const summary = summarizeRun(runDir);
  const s = await summary;
  assert.equal(s.state, 'completed');
  assert.equal(s.verdict, 'passed');
  assert.equal(s.passed, 1);
});

test('--status says paused only when control.json\'s paused is true, as capi-exec takes it (a hand edit\'s "false" or 1 is not)', async () => {
  const runDir = join(root, 'capi_test_20260101_000001');
  await mkdir(join(runDir, 'results'), { recursive: true });
  const manifest = {
    id: 'capi_test_20260101_000001',
    method: 'nohup',
    state: 'completed',
    verdict: 'passed',
    pid: null,
    total: 0,
    suite: { file: '/x' },
    options: {},
  };
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify(manifest));
  const pausedFor = async (control: string) => {
    await writeFile(join(runDir, 'control.json'), control);
    return (await summarizeRun(runDir)).paused;
  };
  assert.equal(await pausedFor('{"paused":true}'), true);
  for (const text of ['{"paused":false}', '{"paused":"false"}', '{"paused":"true"}', '{"paused":1}', '{}', 'null'])
    assert.equal(await pausedFor(text), false, text);
});

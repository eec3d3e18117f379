import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { prepareHost } from './ssh.js';

const dir = await mkdtemp(join(tmpdir(), 'capi-ssh-stop-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a stop ends the connection to a host that is slow to answer before an attempt, not its ConnectTimeout', async () => {
  // an ssh that never answers (a host that takes the connection and says nothing); bounded at 5 s
  const ssh = join(dir, 'ssh');
  await writeFile(ssh, '#!/bin/sh\nexec sleep 5\n');
  await chmod(ssh, 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${dir}${delimiter}${path ?? ''}`;
  try {
    const halted = new AbortController();
    const began = performance.now();
    const answer = prepareHost({ sshConfig: null }, 'silent.test', '.capi-remote/x/attempt_1', '{}', halted.signal);
    setTimeout(() => halted.abort(), 200);
    const a = await answer;
    const took = performance.now() - began;
    assert.deepEqual(a, { ok: false, reason: 'stopped' });
    assert.ok(took < 1500, `prepareHost ended ${Math.round(took)} ms after it began (the stop came at 200 ms)`);
  } finally {
    process.env.PATH = path;
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { privateTmuxEnv } from '@capi/testkit';
import { readJson, runDirOf, sandboxes } from './test-support/harness.js';

/**
 * A secret given to capi-launch (`--header 'Authorization: …'`, or a variable a running
 * tmux server lacks) is on no process's command line while the run lives: workers read
 * their capi-exec flags from exec-options.json (0600), the tmux supervisor window its
 * environment from session.env (0600, removed once read).
 */

const tmuxDirs: string[] = [];
after(() => {
  for (const dir of tmuxDirs) spawnSync('tmux', ['kill-server'], { env: privateTmuxEnv(dir) });
});
const box = sandboxes(true);
const hasTmux = spawnSync('sh', ['-c', 'command -v tmux']).status === 0;

/** Every live process whose argv holds `secret`, from /proc/PID/cmdline. */
function holders(secret: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (argv.includes(secret)) found.push(`${pid}: ${argv.replaceAll('\0', ' ')}`);
    } catch {}
  }
  return found;
}

async function watchArgv(runDir: string, secrets: string[]): Promise<number> {
  let looks = 0;
  const deadline = Date.now() + 30_000;
  while (readJson<{ state: string }>(join(runDir, 'run.json')).state !== 'completed' && Date.now() < deadline) {
    for (const s of secrets) assert.deepEqual(holders(s), [], `${s} is on a command line`);
    looks++;
    await new Promise((r) => setTimeout(r, 100));
  }
  return looks;
}

for (const method of ['nohup', 'tmux'] as const)
  test(`--${method}: a --header secret and a secret variable are on no command line of the run`, {
    skip: method === 'tmux' && !hasTmux ? 'tmux not installed' : false,
  }, async () => {
    const header = `Bearer hdr-${process.pid}-${Date.now()}`;
    const variable = `envsecret-${process.pid}-${Date.now()}`;
    const b = await box({ FAKE_EXEC_DELAY_MS: '60' });
    const tmuxDir = join(b.dir, 'tmux');
    mkdirSync(tmuxDir);
    tmuxDirs.push(tmuxDir);
    const env = { TMUX_TMPDIR: tmuxDir, CAPI_X_TOKEN: variable };
    // a tmux server already running without the variable: the session must be given it
    const holder = spawnSync('tmux', ['new-session', '-d', '-s', 'holder', 'sleep 600'], {
      env: privateTmuxEnv(tmuxDir),
    });
    if (method === 'tmux') assert.equal(holder.status, 0, String(holder.stderr));
    const r = await b.launch(
      [b.suite(60), `--${method}`, '--parallel', '2', '--batch-size', '20', '--header', `Authorization: ${header}`],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirOf(r.stdout);
    // the supervisor did get the variable (through its environment, not argv)
    const pidFile = join(runDir, 'supervisor.pid');
    const deadline = Date.now() + 20_000;
    while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const environ = readFileSync(`/proc/${Number.parseInt(readFileSync(pidFile, 'utf8'), 10)}/environ`, 'utf8');
    assert.ok(environ.split('\0').includes(`CAPI_X_TOKEN=${variable}`), 'the supervisor has the variable');
    const looks = await watchArgv(runDir, [header, variable]);
    assert.ok(looks >= 3, `looked only ${looks} times while the run lived`);
    const options = join(runDir, 'exec-options.json');
    assert.equal(statSync(options).mode & 0o777, 0o600);
    assert.ok(JSON.parse(readFileSync(options, 'utf8')).includes(`Authorization: ${header}`));
    assert.equal(existsSync(join(runDir, 'session.env')), false, 'session.env is removed once read');
  });

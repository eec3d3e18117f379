import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { standInSupervisor } from './stand-in-supervisor.js';

const run = join(tmpdir(), 'capi_stand_in_run');
const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
/** Alive and not a zombie (an orphan's exit is reaped by whoever adopted it, maybe never). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a stand-in supervisor holds `--supervise RUN` in its argv when it is handed over, and stop() ends it', async () => {
  const s = await standInSupervisor(run);
  const argv = argvOf(s.pid);
  assert.equal(argv[argv.indexOf('--supervise') + 1], run);
  await s.stop();
  assert.equal(running(s.pid), false);
  await s.stop(); // twice: no error, no signal to a pid that may be reused by now
});

test('a stand-in supervisor ends by itself once the test process that started it is gone', async () => {
  const kit = fileURLToPath(new URL('./stand-in-supervisor.js', import.meta.url));
  const code = `const { standInSupervisor } = await import(${JSON.stringify(kit)}); const s = await standInSupervisor(${JSON.stringify(run)}); process.stdout.write(s.pid + '\\n'); setInterval(() => {}, 1e6);`;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    for await (const chunk of parent.stdout) {
      out += chunk;
      if (out.includes('\n')) break;
    }
    const pid = Number(out.trim());
    assert.ok(argvOf(pid).includes('--supervise'));
    parent.kill('SIGKILL');
    for (let i = 0; i < 100 && running(pid); i++) await sleep(50);
    assert.equal(running(pid), false, 'still there 5 s after its parent died');
  } finally {
    parent.kill('SIGKILL');
  }
});

import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { argvOf } from '@capi/core';

export interface StandInSupervisor {
  readonly pid: number;
  /** Kills it (SIGKILL, by its child handle: never a reused pid) and resolves once it is gone. */
  stop(): Promise<void>;
}

/** The exact pair core's identity check (`isRunSupervisor`) looks for in a supervisor's argv. */
function holdsPair(argv: string[], runDir: string): boolean {
  for (let i = 0; i + 1 < argv.length; i++) if (argv[i] === '--supervise' && argv[i + 1] === runDir) return true;
  return false;
}

/**
 * The stand-in's program: it ends itself once `parent` (the test process) is gone, so a
 * test killed half-way leaves none behind; else it lives until stopped. The parent is read
 * live from /proc/self/stat (else asked with signal 0): `process.ppid` is read once at
 * start, and the parent's pid is handed in, since it may be gone before the child starts.
 */
const standInBody = (parent: number) => `const p = ${parent};
const parent = () => {
  try {
    const stat = require('node:fs').readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try { process.kill(p, 0); return p; } catch { return 0; }
  }
};
setInterval(() => { if (parent() !== p) process.exit(0); }, 500);`;

/**
 * A live stand-in for a run's supervisor: a node process whose argv holds `--supervise
 * RUN`, as a real supervisor's does, so core's identity check takes it for `runDir`'s
 * supervisor. Resolves only once /proc/PID/cmdline shows that pair (within `waitMs`), so no
 * check made right after can read the argv of a process not yet exec'd; stop() it in `after`.
 */
export async function standInSupervisor(runDir: string, waitMs = 10_000): Promise<StandInSupervisor> {
  const child = spawn(process.execPath, ['-e', standInBody(process.pid), '--', '--supervise', runDir], {
    stdio: 'ignore',
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await gone;
  };
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pid = child.pid as number;
  for (const end = Date.now() + waitMs; ; await sleep(5)) {
    const argv = argvOf(pid);
    if (argv === null || holdsPair(argv, runDir)) return { pid, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() >= end) {
      await stop();
      throw new Error(`stand-in supervisor ${pid}: no --supervise ${runDir} in its argv after ${waitMs} ms`);
    }
  }
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binPath, repoRoot, testEnv } from '@capi/testkit';

/** Helpers for the contract tests: a live fake run, journal counts, tmux panes. */

const run = promisify(execFile);
export const fakeRunPath = join(repoRoot, 'tools', 'capi-watch', 'dist', 'test-support', 'fake-run.js');
export const watchBin = binPath('capi-watch');

const children = new Set<ChildProcess>();

/** Starts the fake run (see fake-run.ts) writing `dir`; killed by `killChildren`. */
export function startFakeRun(dir: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [fakeRunPath, dir, '--supervise', dir, ...args], {
    stdio: 'ignore',
    env: testEnv(),
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

export async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface JournalCounts {
  done: number;
  passed: number;
  failed: number;
  error: number;
}

/** Counts the complete lines of every journal in `folder` by status. */
export async function journalCounts(folder: string, ext = '.ndjson'): Promise<JournalCounts> {
  const counts: JournalCounts = { done: 0, passed: 0, failed: 0, error: 0 };
  for (const name of (await readdir(folder)).filter((n) => n.endsWith(ext))) {
    const text = await readFile(join(folder, name), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) {
      const status = JSON.parse(line).status as keyof JournalCounts;
      counts.done++;
      counts[status]++;
    }
  }
  return counts;
}

/** Polls `check` every 100 ms until it returns a value; fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A private tmux server for one test file, so no other session is touched. */
export function tmuxServer(name: string) {
  const base = ['-L', name];
  let n = 0;
  return {
    async start(command: string, width = 160, height = 50): Promise<string> {
      const session = `${name}-${++n}`;
      await run('tmux', [
        ...base,
        'new-session',
        '-d',
        '-x',
        String(width),
        '-y',
        String(height),
        '-s',
        session,
        command,
      ]);
      return session;
    },
    /**
     * The pane once a frame is whole: two captures 30 ms apart that agree. One capture can
     * land in the middle of a repaint (the top drawn, the rest still blank) and fail a test on
     * a slow machine; bounded to 20 tries, after which the last capture is returned.
     */
    async capture(session: string): Promise<string> {
      const once = async () => (await run('tmux', [...base, 'capture-pane', '-p', '-t', session])).stdout;
      let last = await once();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 30));
        const next = await once();
        if (next === last) return next;
        last = next;
      }
      return last;
    },
    /** The pane with its colours and attributes as escape codes (`capture-pane -e`). */
    async captureEscapes(session: string): Promise<string> {
      return (await run('tmux', [...base, 'capture-pane', '-e', '-p', '-t', session])).stdout;
    },
    async keys(session: string, ...keys: string[]): Promise<void> {
      await run('tmux', [...base, 'send-keys', '-t', session, ...keys]);
    },
    async resize(session: string, width: number, height: number): Promise<void> {
      await run('tmux', [...base, 'resize-window', '-t', session, '-x', String(width), '-y', String(height)]);
    },
    async kill(): Promise<void> {
      await run('tmux', [...base, 'kill-server']).catch(() => {});
    },
  };
}

export async function hasTmux(): Promise<boolean> {
  try {
    await run('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}

/** The shell command a tmux pane runs: the dashboard, then its exit code, then a pause. */
export function dashboardCommand(args: string[], env: Record<string, string>): string {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const vars = Object.entries({ TZ: 'UTC', NCURSES_NO_UTF8_ACS: '1', ...env }).map(([k, v]) => `${k}=${quote(v)}`);
  // The pane inherits the test run's environment (CI sets NO_COLOR): colour is what `env` says.
  return `env -u NO_COLOR -u FORCE_COLOR ${vars.join(' ')} ${quote(process.execPath)} ${quote(watchBin)} ${args.map(quote).join(' ')}; echo EXIT=$?; sleep 120`;
}

/**
 * The colour parameters of the SGR escapes in `text` (30-38, 40-48, 90-97, 100-107, with
 * 38;5;N and 48;2;R;G;B taken whole); reset, bold, inverse and the default colours
 * (39, 49) are not colours.
 */
export function sgrColors(text: string): string[] {
  const found: string[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what an SGR sequence starts with
  for (const m of text.matchAll(/\u001b\[([\d;:]*)m/g)) {
    const params = (m[1] as string).split(/[;:]/).map(Number);
    for (let i = 0; i < params.length; i++) {
      const p = params[i] as number;
      if (p === 38 || p === 48) {
        const n = params[i + 1] === 5 ? 2 : 4;
        found.push(params.slice(i, i + n + 1).join(';'));
        i += n;
      } else if ((p >= 30 && p <= 37) || (p >= 40 && p <= 47) || (p >= 90 && p <= 97) || (p >= 100 && p <= 107))
        found.push(String(p));
    }
  }
  return found;
}

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { binPath, collect, killAll, type RunOptions, repoRoot, runTool, tempDir, testEnv } from '@capi/testkit';

/** Shared by the contract tests: a runs folder per test, and every process it started killed. */

export const fakeSplit = join(repoRoot, 'libs/launch/dist/test-support/fake-split.js');
export const fakeExec = join(repoRoot, 'libs/launch/dist/test-support/fake-exec.js');

export interface Sandbox {
  dir: string;
  runs: string;
  env: Record<string, string>;
  launch(args: string[], opts?: RunOptions): ReturnType<typeof runTool>;
  suite(rows: number, name?: string): string;
  cleanup(): Promise<void>;
}

/**
 * A temp folder with its own CAPI_RUNS_DIR; `fake` puts the stand-in split and exec in place.
 * The suites' URLs are relative (`/items/N`), which a launch refuses without a base URL:
 * CAPI_BASE_URL is set to a closed port (the stand-in exec sends nothing; tests of the real
 * one give --base-url). `{ CAPI_BASE_URL: '' }` takes it away.
 */
export async function sandbox(fake: boolean, extraEnv: Record<string, string> = {}): Promise<Sandbox> {
  const t = await tempDir('capi-launch-test-');
  const runs = join(t.path, 'runs');
  const env: Record<string, string> = { CAPI_RUNS_DIR: runs, CAPI_BASE_URL: 'http://127.0.0.1:9', ...extraEnv };
  if (fake) Object.assign(env, { CAPI_SPLIT_BIN: fakeSplit, CAPI_EXEC_BIN: fakeExec });
  return {
    dir: t.path,
    runs,
    env,
    launch: (args, opts = {}) => runTool('capi-launch', args, { ...opts, env: { ...env, ...opts.env } }),
    suite(rows, name = 'suite.csv') {
      const file = join(t.path, name);
      const lines = ['id,url'];
      for (let i = 1; i <= rows; i++) lines.push(`T${String(i).padStart(4, '0')},/items/${i}`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    },
    async cleanup() {
      killRuns(runs);
      await t.cleanup();
    },
  };
}

/**
 * Sandboxes for one test file, made on demand; after the file's tests every process the
 * tests spawned is killed and every sandbox removed with the runs in it.
 */
export function sandboxes(fakeByDefault: boolean) {
  const made: Sandbox[] = [];
  after(async () => {
    killAll();
    for (const b of made) await b.cleanup();
  });
  return async (env: Record<string, string> = {}, fake = fakeByDefault): Promise<Sandbox> => {
    const b = await sandbox(fake, env);
    made.push(b);
    return b;
  };
}

/** The run.json fields the tests look at. */
export interface Manifest {
  state: string;
  verdict: string;
  total: number;
}

/** Every supervisor and worker pid recorded under a runs folder. */
export function runPids(runs: string): number[] {
  const pids: number[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(runs).filter((n) => n.startsWith('capi_test_'));
  } catch {
    return pids;
  }
  for (const name of names) {
    const dir = join(runs, name);
    try {
      pids.push(Number.parseInt(readFileSync(join(dir, 'supervisor.pid'), 'utf8'), 10));
    } catch {}
    try {
      for (const c of readdirSync(join(dir, 'claims')))
        pids.push((JSON.parse(readFileSync(join(dir, 'claims', c), 'utf8')) as { pid: number }).pid);
    } catch {}
  }
  return pids.filter((p) => Number.isSafeInteger(p) && p > 0);
}

export function killRuns(runs: string): void {
  for (const pid of runPids(runs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** Polls `check` every 100 ms until it returns a value, for at most `ms`. */
export async function until<T>(what: string, check: () => T | null | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = check();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Every id in a run's journals, with how often it occurs. */
export function journalIds(runDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of readdirSync(join(runDir, 'results')).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of readFileSync(join(runDir, 'results', f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const id = (JSON.parse(line) as { id: string }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Asserts shape: every id 1..n exactly once. Returns a message or null. */
export function exactlyOnce(runDir: string, n: number): string | null {
  const ids = journalIds(runDir);
  if (ids.size !== n) return `${ids.size} distinct ids, expected ${n}`;
  for (const [id, c] of ids) if (c !== 1) return `${id} appears ${c} times`;
  return null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

export function runDirOf(stdout: string): string {
  const m = /folder:\s+(\S+)/.exec(stdout);
  if (!m) throw new Error(`no run folder in: ${stdout}`);
  return m[1] as string;
}

export interface Demo {
  url: string;
  stop(): void;
}

/** The demo API as a user runs it (scripts/demo-api.mjs), on a free port; `more`: its other flags. */
export async function startDemo(latencyMs: number, more: string[] = []): Promise<Demo> {
  const { spawn } = await import('node:child_process');
  const args = [join(repoRoot, 'scripts/demo-api.mjs'), '--latency', String(latencyMs), ...more];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const url = await until('demo API', () => /listening on (\S+)/.exec(out)?.[1], 15_000);
  return { url, stop: () => child.kill('SIGKILL') };
}

/** The demo API for one test file: started before its tests, stopped after them. */
export function demoFor(latencyMs: number): { readonly url: string } {
  let demo: Demo | undefined;
  before(async () => {
    demo = await startDemo(latencyMs);
  });
  after(() => demo?.stop());
  return {
    get url() {
      if (!demo) throw new Error('the demo API did not start');
      return demo.url;
    },
  };
}

/** A suite for the demo API: every row passes except the ids in `failing` (expects 404); `latencyMs` slows each answer. */
export function demoSuite(dir: string, rows: number, failing: string[] = [], latencyMs = 0): string {
  const file = join(dir, 'demo-suite.csv');
  const lines = ['id,url,expect_status'];
  const knob = latencyMs ? `?latency=${latencyMs}` : '';
  for (let i = 1; i <= rows; i++) {
    const id = `T${String(i).padStart(4, '0')}`;
    lines.push(`${id},/items/${i}${knob},${failing.includes(id) ? '404' : '200'}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Live processes whose argv holds the pair `--run-id ID`: the workers of a run, found from
 * /proc. Run ids are made of the launch's second, so two test files launching side by side
 * (--test-concurrency) can share one: with `runs`, only workers whose argv names a path
 * under that runs folder (their `--serve RUN`, `--control`) are this sandbox's.
 */
export function workersOf(runId: string, runs?: string): number[] {
  const unders = runs === undefined ? [] : [...new Set([runs, realpathSync(runs)])].map((r) => `${r}/`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (unders.length > 0 && !argv.some((a) => unders.some((u) => a.startsWith(u)))) continue;
    for (let i = 0; i + 1 < argv.length; i++)
      if (argv[i] === '--run-id' && argv[i + 1] === runId) pids.push(Number(name));
  }
  return pids;
}

/**
 * capi-launch started in the background with the sandbox's environment: its process, what it
 * has said on stderr so far (for a test that waits for a line, then acts), and its end.
 */
export function launchInBackground(b: Sandbox, args: string[], timeoutMs = 60_000) {
  const child = spawn(process.execPath, [binPath('capi-launch'), ...args], {
    env: testEnv(b.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let said = '';
  child.stderr?.on('data', (d: Buffer) => {
    said += d.toString();
  });
  return { child, said: () => said, ended: collect(child, { timeoutMs }) };
}

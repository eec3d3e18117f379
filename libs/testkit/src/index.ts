import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file: libs/testkit/dist/index.js. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function binPath(tool: string): string {
  return join(repoRoot, 'tools', tool, 'bin', `${tool}.js`);
}

let codeCache: string | null = null;

/**
 * capi-exec's code cache folder for the tools this test process starts (docs/capi-exec.md,
 * "Start-up and the code cache"): one of its own, removed at its exit, so that tests never
 * write into the user's ~/.cache and run the same whatever is cached there. The first
 * capi-exec run of the process leaves the cache, the others take it, as a user's runs do.
 */
function testCodeCache(): string {
  if (codeCache === null) {
    const dir = mkdtempSync(join(tmpdir(), 'capi-test-code-cache-'));
    codeCache = join(dir, 'capi');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return codeCache;
}

/**
 * This process's environment for a tmux client of the private server in `dir` (TMUX_TMPDIR),
 * and of no other: tmux takes the server named by TMUX (set inside a tmux session) before
 * TMUX_TMPDIR, so a test run from a tmux window would otherwise make its sessions on, and
 * `kill-server`, the user's own server. `extra` is set too (the server's variables).
 */
export function privateTmuxEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, TMUX_TMPDIR: dir };
  delete env.TMUX;
  delete env.TMUX_PANE;
  return env;
}

/**
 * The environment contract tests run tools in: fixed time zone, no colour, dumb terminal,
 * the test process's own code cache folder.
 */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TZ: 'UTC',
    NO_COLOR: '1',
    TERM: 'dumb',
    CAPI_CODE_CACHE: testCodeCache(),
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the child after this many ms (default 60 s), so no test hangs forever. */
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** Spawns `node bin/<tool>.js args…` and collects everything it printed. */
export function runTool(tool: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runNode(binPath(tool), args, opts);
}

export function runNode(script: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: testEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, opts);
}

export function collect(child: ChildProcess, opts: RunOptions = {}): Promise<RunResult> {
  live.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  child.stdin?.on('error', () => {});
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Kills every child that a test started and did not wait for; call it in `after`. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export async function tempDir(prefix = 'capi-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Parses NDJSON text into values (tests only: everything in memory). */
export function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/**
 * The non-blank lines of the README's first ```LANG block after `heading`, so that a test
 * runs the README's commands as printed (a doc edit that breaks them fails the test).
 */
export async function readmeBlock(heading: string, lang: string): Promise<string[]> {
  const text = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const from = text.indexOf(heading);
  if (from < 0) throw new Error(`README has no "${heading}"`);
  const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(text.slice(from));
  if (!block) throw new Error(`README: no ${lang} block after "${heading}"`);
  return (block[1] as string).split('\n').filter((l) => l.trim() !== '');
}

/** A README line without its trailing `# comment`. */
export const withoutComment = (line: string): string => line.replace(/\s+#.*$/, '');

export { type StandInSupervisor, standInSupervisor } from './stand-in-supervisor.js';

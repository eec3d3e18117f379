import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapiError, ExitCode, FILE_MODE, readPidFile, runPaths, shellLine, shellQuote } from '@capi/core';
import type { Method } from './create-run.js';
import { type Manifest, readManifest } from './manifest.js';
import { isAlive, supervisorOf } from './process.js';
import { findOnPath, toolBin } from './tools.js';

/** The packages that provide the terminal multiplexers, for the install hint. */
const INSTALL = { screen: 'apt-get install screen', tmux: 'apt-get install tmux' } as const;

/** Refuses a method whose program is missing, before anything is created. */
export function checkMethod(method: Method, env: NodeJS.ProcessEnv = process.env): void {
  if (method !== 'screen' && method !== 'tmux') return;
  if (!findOnPath(method, env))
    throw new CapiError(
      `--${method} needs ${method}, which is not installed (or not on PATH): install it with \`${INSTALL[method]}\` (or brew install ${method}), or use --nohup`,
      ExitCode.badInput,
    );
}

/** Is a tmux or screen session of that name alive? Used to keep run ids unique per session. */
export function sessionExists(method: Method, name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (method === 'tmux')
    return spawnSync('tmux', ['has-session', '-t', `=${name}`], { env, stdio: 'ignore' }).status === 0;
  if (method === 'screen') {
    const r = spawnSync('screen', ['-ls', name], { env, encoding: 'utf8' });
    return new RegExp(`\\d+\\.${name}\\s`).test(r.stdout ?? '');
  }
  return false;
}

export function closeSession(m: Pick<Manifest, 'method' | 'session'>, env: NodeJS.ProcessEnv = process.env): void {
  if (!m.session) return;
  if (m.method === 'tmux') spawnSync('tmux', ['kill-session', '-t', `=${m.session}`], { env, stdio: 'ignore' });
  if (m.method === 'screen') spawnSync('screen', ['-S', m.session, '-X', 'quit'], { env, stdio: 'ignore' });
}

export function supervisorArgs(runDir: string, env: NodeJS.ProcessEnv, echo: boolean): string[] {
  return [process.execPath, toolBin('launch', env), '--supervise', runDir, ...(echo ? ['--echo'] : [])];
}

/** A detached process group: no controlling terminal, so SIGHUP of the shell never reaches it. */
function startNohup(runDir: string, env: NodeJS.ProcessEnv): number {
  const fd = openSync(runPaths(runDir).mainLog, 'a', FILE_MODE);
  const [node, ...args] = supervisorArgs(runDir, env, false);
  const child = spawn(node as string, args, { detached: true, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  child.unref();
  // for nohup the supervisor is this very child
  return child.pid ?? 0;
}

function startScreen(runDir: string, session: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync('screen', ['-dmS', session, ...supervisorArgs(runDir, env, true)], { env, encoding: 'utf8' });
  if (r.status !== 0)
    throw new CapiError(`screen could not start session ${session}: ${(r.stderr || r.stdout).trim()}`);
}

/**
 * The variables a tmux session must be given, and only those. A running tmux server hands
 * new sessions its own old environment, without CAPI_* or tokens; passing them as
 * `-e KEY=VALUE` would put them on a command line, readable by every local user in `ps`
 * (and with no server yet, on the long-lived server's own). So: no server → nothing (the
 * new server is forked from us and inherits our environment without argv); a running
 * server → the variables whose value differs from its global environment, which reach
 * the supervisor through a 0600 file (startTmux), never argv.
 */
export function tmuxEnvDiff(env: NodeJS.ProcessEnv): Array<[string, string]> {
  const r = spawnSync('tmux', ['show-environment', '-g'], { env, encoding: 'utf8' });
  if (r.status !== 0) return [];
  const server = new Map<string, string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('-')) server.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return Object.entries(env).flatMap(
    ([k, v]): Array<[string, string]> =>
      v !== undefined && /^[A-Za-z_]\w*$/.test(k) && server.get(k) !== v ? [[k, v]] : [],
  );
}

/**
 * The supervisor's window command: with variables to pass, it reads them from
 * `session.env` (0600, shell-quoted `export` lines) and removes the file before it execs.
 */
function supervisorWindow(runDir: string, env: NodeJS.ProcessEnv): string {
  const line = shellLine(supervisorArgs(runDir, env, true));
  const diff = tmuxEnvDiff(env);
  if (diff.length === 0) return line;
  const file = runPaths(runDir).sessionEnv;
  writeFileSync(file, diff.map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''), { mode: FILE_MODE });
  return `. ${shellQuote(file)}; rm -f ${shellQuote(file)}; exec ${line}`;
}

/**
 * tmux: window `supervisor`, a window per worker following its log, and `watch`
 * running capi-watch. The session gets this process's environment (see tmuxEnvDiff): a
 * running tmux server would otherwise give it the server's old one, without CAPI_* or tokens.
 */
function startTmux(runDir: string, session: string, parallel: number, env: NodeJS.ProcessEnv): void {
  const line = shellLine;
  const tmux = (args: string[]) => {
    const r = spawnSync('tmux', args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new CapiError(`tmux ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`);
  };
  tmux([
    'new-session',
    '-d',
    '-s',
    session,
    '-n',
    'supervisor',
    '-x',
    '160',
    '-y',
    '48',
    supervisorWindow(runDir, env),
  ]);
  const paths = runPaths(runDir);
  for (let k = 1; k <= parallel; k++) {
    const log = paths.logFile(`worker_${k}`);
    tmux([
      'new-window',
      '-d',
      '-t',
      `=${session}:`,
      '-n',
      `worker-${k}`,
      `touch ${shellQuote(log)}; tail -n +1 -F ${shellQuote(log)}`,
    ]);
  }
  const watch = line([process.execPath, toolBin('watch', env), runDir]);
  tmux(['new-window', '-d', '-t', `=${session}:`, '-n', 'watch', `${watch}; echo '(capi-watch ended)'; sleep 86400`]);
}

/** Starts the supervisor of a prepared run by `method` and waits until it has taken the run. */
export async function startSupervisor(
  runDir: string,
  m: Manifest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let spawned = 0;
  if (m.method === 'nohup') spawned = startNohup(runDir, env);
  else if (m.method === 'screen') startScreen(runDir, m.session ?? m.id, env);
  else if (m.method === 'tmux') startTmux(runDir, m.session ?? m.id, m.parallel, env);
  else throw new CapiError(`method ${m.method} is not started in the background`);
  // a busy machine can take seconds to start node: wait up to 30 s
  for (let i = 0; i < 300; i++) {
    const pid = readPidFile(runDir);
    if (pid && isAlive(pid, supervisorOf(runDir))) return pid;
    // A tiny run can be over before the first look: it has left `created` behind, and
    // run.json's pid is null again; for nohup the child we spawned was the supervisor.
    const now = await readManifest(runDir).catch(() => null);
    if (now && now.state !== 'created') return now.pid ?? spawned;
    await sleep(100);
  }
  closeSession(m, env);
  const log = await readFile(runPaths(runDir).mainLog, 'utf8').catch(() => '');
  const tail = log.trim().split('\n').slice(-5).join('\n');
  throw new CapiError(`the supervisor did not start: see ${runPaths(runDir).mainLog}${tail ? `\n${tail}` : ''}`);
}

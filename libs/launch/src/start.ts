import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapiError, ExitCode, FILE_MODE, readPidFile, runPaths, shellLine, shellQuote } from '@capi/core';
import type { Method } from './create-run.js';
import { lastLogLines } from './log-tail.js';
import { type Manifest, readManifest } from './manifest.js';
import { isAlive, signal, supervisorOf } from './process.js';
import { abandonResume, resumeTaken } from './resume-handoff.js';
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

/** `resumed`: the supervisor takes the run with a resume's changes (resume.json), or not at all. */
export function supervisorArgs(runDir: string, env: NodeJS.ProcessEnv, echo: boolean, resumed = false): string[] {
  return [
    process.execPath,
    toolBin('launch', env),
    '--supervise',
    runDir,
    ...(echo ? ['--echo'] : []),
    ...(resumed ? ['--resumed'] : []),
  ];
}

/**
 * The supervisor as capi-launch saw it: the nohup child's pid, and how it ended if it has (a
 * spawn error, an early exit). Under tmux or screen it is no child of ours: `watched` says
 * whether the process it runs in (the tmux pane's, the screen session's) is still there, so a
 * supervisor that dies at its start is said at once, not after 30 s.
 */
interface Spawned {
  pid: number;
  ended: string | null;
  watched?: { alive: () => boolean; gone: string };
}

/** A pane's or session's process, watched by its pid; 0 (unknown) is never judged gone. */
const byPid = (pid: number) => () => pid <= 0 || isAlive(pid);

/**
 * A detached process group: no controlling terminal, so SIGHUP of the shell never reaches
 * it. A spawn error or an exit before the run is taken is kept, so the wait ends at once.
 */
function startNohup(runDir: string, env: NodeJS.ProcessEnv, resumed: boolean): Spawned {
  const fd = openSync(runPaths(runDir).mainLog, 'a', FILE_MODE);
  const [node, ...args] = supervisorArgs(runDir, env, false, resumed);
  const child = spawn(node as string, args, { detached: true, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  child.unref();
  // for nohup the supervisor is this very child
  const spawned: Spawned = { pid: child.pid ?? 0, ended: null };
  child.on('error', (err) => {
    spawned.ended = `it could not be started: ${err.message}`;
  });
  child.on('exit', (code, sig) => {
    spawned.ended = `it exited (${sig ?? `exit ${code}`})`;
  });
  return spawned;
}

function startScreen(runDir: string, session: string, env: NodeJS.ProcessEnv, resumed: boolean): Spawned {
  const r = spawnSync('screen', ['-dmS', session, ...supervisorArgs(runDir, env, true, resumed)], {
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new CapiError(`screen could not start session ${session}: ${(r.stderr || r.stdout).trim()}`);
  // the session's own process (`screen -ls`: PID.NAME) ends when its one window, the supervisor, does
  const listed = () => {
    const ls = spawnSync('screen', ['-ls', session], { env, encoding: 'utf8' });
    return Number(new RegExp(`(\\d+)\\.${session}\\s`).exec(ls.stdout ?? '')?.[1] ?? 0);
  };
  let pid = listed();
  let unlisted = 0;
  // A supervisor that dies at once can take its session with it before the first look: a
  // session still not listed at SCREEN_UNLISTED_LOOKS looks (one a start tick) is gone.
  const alive = () => {
    if (pid <= 0) pid = listed();
    return pid > 0 ? isAlive(pid) : ++unlisted < SCREEN_UNLISTED_LOOKS;
  };
  return { pid: 0, ended: null, watched: { alive, gone: 'its screen session ended' } };
}

/** Looks (100 ms apart) at a screen session not listed before it is judged gone: about a second. */
const SCREEN_UNLISTED_LOOKS = 10;

/**
 * The variables a tmux session must be given, and only those. A running tmux server hands
 * new sessions its own old environment, without CAPI_* or tokens, and with whatever it was
 * started with (an old token, a NODE_OPTIONS, a proxy); passing them as `-e KEY=VALUE`
 * would put them on a command line, readable by every local user in `ps` (and with no
 * server yet, on the long-lived server's own). So: no server → nothing (the new server is
 * forked from us and inherits our environment without argv); a running server → the
 * variables whose value differs from its global environment, and (value null) those it has
 * that we do not, to be unset: they reach the supervisor through a 0600 file (startTmux),
 * never argv.
 */
export function tmuxEnvDiff(env: NodeJS.ProcessEnv): Array<[string, string | null]> {
  const r = spawnSync('tmux', ['show-environment', '-g', '-s'], { env, encoding: 'utf8' });
  if (r.status !== 0) return [];
  // unreadable (another tmux's words): every variable of ours passed, none unset
  const server = serverEnvironment(r.stdout ?? '') ?? new Map<string, string>();
  const shellName = (k: string) => /^[A-Za-z_]\w*$/.test(k);
  const differ = Object.entries(env).flatMap(
    ([k, v]): Array<[string, string]> => (v !== undefined && shellName(k) && server.get(k) !== v ? [[k, v]] : []),
  );
  const stale = [...server.keys()]
    .filter((k) => env[k] === undefined && shellName(k))
    .map((k): [string, null] => [k, null]);
  return [...differ, ...stale];
}

/** One variable of `show-environment -s`: `NAME="value"; export NAME;` (value escaped), or `unset NAME;` (removed). */
const SHOWN = /(?:unset [^\n;]+;|([^\n=]+)="((?:[^"\\]|\\[\s\S])*)"; export [^\n;]+;)(?:\n|$)/y;

/**
 * A tmux server's global environment from `show-environment -g -s`, whose values are quoted
 * and escaped (`\` before `$`, `` ` ``, `"` and `\`) and may span lines; null when the text
 * is not that. Not the plain `NAME=value` lines: a value holding a newline reads there as
 * more variables (`A=x` then `B=y` for a value `x\nB=y`).
 */
export function serverEnvironment(text: string): Map<string, string> | null {
  const vars = new Map<string, string>();
  SHOWN.lastIndex = 0;
  while (SHOWN.lastIndex < text.length) {
    const m = SHOWN.exec(text);
    if (m === null) return null;
    if (m[1] !== undefined) vars.set(m[1], (m[2] as string).replace(/\\([\s\S])/g, '$1'));
  }
  return vars;
}

/**
 * The supervisor's window command: with variables to pass, it reads them from
 * `session.env` (0600, shell-quoted `export` and `unset` lines) and removes the file before
 * it execs.
 */
function supervisorWindow(runDir: string, env: NodeJS.ProcessEnv, resumed: boolean): string {
  const line = shellLine(supervisorArgs(runDir, env, true, resumed));
  const diff = tmuxEnvDiff(env);
  if (diff.length === 0) return line;
  const file = runPaths(runDir).sessionEnv;
  const lines = diff.map(([k, v]) => (v === null ? `unset ${k}\n` : `export ${k}=${shellQuote(v)}\n`));
  writeFileSync(file, lines.join(''), { mode: FILE_MODE });
  return `. ${shellQuote(file)}; rm -f ${shellQuote(file)}; exec ${line}`;
}

/**
 * tmux: window `supervisor`, a window per worker following its log, and `watch`
 * running capi-watch. The session gets this process's environment (see tmuxEnvDiff): a
 * running tmux server would otherwise give it the server's old one, without CAPI_* or tokens.
 */
function startTmux(
  runDir: string,
  session: string,
  parallel: number,
  env: NodeJS.ProcessEnv,
  resumed: boolean,
): Spawned {
  const line = shellLine;
  const tmux = (args: string[]) => {
    const r = spawnSync('tmux', args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new CapiError(`tmux ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout ?? '';
  };
  // -P -F: the supervisor window's process, printed, whose end is the supervisor's
  const pane = tmux([
    'new-session',
    '-d',
    '-P',
    '-F',
    '#{pane_pid}',
    '-s',
    session,
    '-n',
    'supervisor',
    '-x',
    '160',
    '-y',
    '48',
    supervisorWindow(runDir, env, resumed),
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
  const pid = Number.parseInt(pane.trim(), 10);
  const watched = { alive: byPid(Number.isSafeInteger(pid) ? pid : 0), gone: 'its tmux window closed' };
  return { pid: 0, ended: null, watched };
}

/**
 * Starts the supervisor of a prepared run by `method` and waits until it has taken the run.
 * `resumedFrom`: a resume's, with run.json as it was before; such a supervisor has taken
 * the run once it has removed resume.json and written run.json. If it cannot be started
 * or has not taken the run within 30 s, the resume is given up (resume.json removed first,
 * so a late supervisor leaves the run alone) and the run stays as it was.
 */
export async function startSupervisor(
  runDir: string,
  m: Manifest,
  env: NodeJS.ProcessEnv = process.env,
  resumedFrom: Manifest | null = null,
): Promise<number> {
  const resumed = resumedFrom !== null;
  let spawned: Spawned = { pid: 0, ended: null };
  let why: string | null = null;
  try {
    if (m.method === 'nohup') spawned = startNohup(runDir, env, resumed);
    else if (m.method === 'screen') spawned = startScreen(runDir, m.session ?? m.id, env, resumed);
    else if (m.method === 'tmux') spawned = startTmux(runDir, m.session ?? m.id, m.parallel, env, resumed);
    else throw new CapiError(`method ${m.method} is not started in the background`);
  } catch (err) {
    // a session half made (tmux's window failed after its session started) is closed below
    why = err instanceof Error ? err.message : String(err);
  }
  const took = () => tookRun(runDir, resumedFrom, spawned.pid);
  // a busy machine can take seconds to start node: wait up to 30 s
  for (let i = 0; why === null && i < 300; i++) {
    const taken = await took();
    if (taken !== null) return taken;
    const { watched } = spawned;
    if (spawned.ended === null && watched && !watched.alive()) spawned.ended = `it exited (${watched.gone})`;
    if (spawned.ended !== null) {
      // it may have taken the run and ended it (a tiny run) just before it exited
      const after = await took();
      if (after !== null) return after;
      why = `the supervisor did not start: ${spawned.ended}`;
      break;
    }
    await sleep(100);
  }
  closeSession(m, env);
  if (spawned.ended === null && spawned.pid > 0) signal(spawned.pid, 'SIGKILL');
  if (resumed) await rm(runPaths(runDir).sessionEnv, { force: true });
  // its own reason, however long a stack it printed after it (the last lines alone were frames)
  const tail = (await lastLogLines(runPaths(runDir).mainLog, 5)).join('\n');
  const what = why ?? 'the supervisor did not start within 30 s';
  if (!resumed)
    // the caller (launch.ts) removes the run folder, its capi.log with it: the reason is quoted, not pointed at
    throw new CapiError(
      `${what}; nothing started, the run folder ${runDir} is removed${tail ? `; its logs/capi.log said:\n${tail}` : ', its logs/capi.log empty'}`,
    );
  const now = async () => (await readManifest(runDir).catch(() => m)).state;
  let left = '';
  if (resumed)
    left = (await abandonResume(runDir))
      ? `; the run is left as it was (${await now()})`
      : `; it took the run's resume (control.json may hold its --rate/--concurrency) but ended before it ran it: run.json says ${await now()}`;
  throw new CapiError(`${what}: see ${runPaths(runDir).mainLog}${left}${tail ? `\n${tail}` : ''}`);
}

/** The supervisor's pid once it has taken the run, else null. */
async function tookRun(runDir: string, resumedFrom: Manifest | null, spawned: number): Promise<number | null> {
  const pid = readPidFile(runDir);
  const alive = !!pid && isAlive(pid, supervisorOf(runDir));
  const now = await readManifest(runDir).catch(() => null);
  if (resumedFrom) {
    // a resume's: resume.json removed (its pid file was written before), then run.json
    // written with its pid, or already its end (a tiny run, over before this look)
    if (!now || !(await resumeTaken(runDir))) return null;
    if (alive && now.pid === pid) return pid;
    if (now.state !== resumedFrom.state || now.finished !== resumedFrom.finished) return now.pid ?? spawned;
    return null;
  }
  if (alive) return pid;
  // A tiny run can be over before the first look: it has left `created` behind, and
  // run.json's pid is null again; for nohup the child we spawned was the supervisor.
  if (now && now.state !== 'created') return now.pid ?? spawned;
  return null;
}

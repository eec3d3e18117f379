import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cleanText,
  DIR_MODE,
  envAllowed,
  envNamesIn,
  FILE_MODE,
  parseAllowEnv,
  runPaths,
  shellQuote,
} from '@capi/core';
import { remoteAttemptDir, type SshSettings, sshLine } from './ssh.js';

/**
 * One attempt of `--hosts`: one GNU parallel run over the hosts that answered, with the
 * attempt's batches as `:::` arguments (never stdin: parallel would wait on it), its
 * `--joblog` in the run folder, stdin from /dev/null. Each batch goes as a folder of its
 * own: its tests and a copy of its journal so far, so the remote capi-exec resumes it by
 * test id (flows and setup rows included) and runs only what has no result here. Every
 * result the remote capi-exec prints comes home at once (`--line-buffer`, tagged with the
 * batch) and is appended to the local journal, the only one that counts.
 */

export interface AttemptPlan {
  runDir: string;
  runId: string;
  attempt: number;
  batches: string[];
  hosts: { login: string; jobs: number }[];
  ssh: SshSettings;
  /** The capi-exec command on the remote side (`--remote-capi`). */
  remoteCapi: string;
  concurrency: number | null;
  execArgs: string[];
  env: NodeJS.ProcessEnv;
  log: (t: string) => void;
}

/** One line of GNU parallel's joblog: how one batch's job ended, on which host. */
export interface JobEnd {
  batch: string;
  host: string;
  started: string | null;
  runtimeS: number;
  exit: number;
  signal: number;
}

/** A journal's torn last line (a supervisor killed mid-write) cut before it is copied. */
function wholeJournal(path: string): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
  const end = text.lastIndexOf(0x0a);
  const whole = end < 0 ? Buffer.alloc(0) : text.subarray(0, end + 1);
  if (whole.length !== text.length) writeFileSync(path, whole, { mode: FILE_MODE });
  return whole;
}

/** The value of every `--flag VALUE` / `--flag=VALUE` of `names` in argv words. */
function flagValues(args: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (names.includes(a) && i + 1 < args.length) out.push(args[++i] as string);
    else for (const n of names) if (a.startsWith(`${n}=`)) out.push(a.slice(n.length + 1));
  }
  return out;
}

// local paths of this machine's tools and runs, meaningless on a host
const LOCAL_ONLY = /^CAPI_(?:[A-Z]+_BIN|RUNS_DIR)$/;
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * env.sh: the variables a remote capi-exec would read here, as shell `export` lines
 * (values single-quoted): the `CAPI_` ones and those `--allow-env` names (a suite's
 * `{{env.NAME}}`, `CAPI_BASE_URL`), and those the launch's `--header` values read. It
 * goes owner-only in the attempt's folder and is sourced before capi-exec starts:
 * secrets reach the hosts in a 0600 file and the environment, never a command line.
 */
export function forwardedEnv(execArgs: string[], env: NodeJS.ProcessEnv): string {
  const allow = parseAllowEnv(flagValues(execArgs, ['--allow-env']));
  const headerNames = new Set(flagValues(execArgs, ['--header', '-H']).flatMap((h) => envNamesIn(h)));
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !SHELL_NAME.test(name) || LOCAL_ONLY.test(name)) continue;
    const allowed = typeof allow === 'string' ? name.startsWith('CAPI_') : envAllowed(name, allow);
    if (allowed || headerNames.has(name)) lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The attempt's folder: one folder per batch (tests, journal so far), exec-options.json when there are flags. */
function stage(p: AttemptPlan): string {
  const paths = runPaths(p.runDir);
  const dir = paths.attemptDir(p.attempt);
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  mkdirSync(paths.results, { recursive: true, mode: DIR_MODE });
  for (const b of p.batches) {
    mkdirSync(join(dir, b), { mode: DIR_MODE });
    copyFileSync(paths.batchFile(b), join(dir, b, 'tests.ndjson'));
    writeFileSync(join(dir, b, 'journal.ndjson'), wholeJournal(paths.resultFile(b)), { mode: FILE_MODE });
  }
  // owner-only here, and so on the host: rsync keeps the mode of a new file (minus the umask)
  writeFileSync(join(dir, 'env.sh'), forwardedEnv(p.execArgs, p.env), { mode: FILE_MODE });
  if (p.execArgs.length > 0)
    writeFileSync(join(dir, 'exec-options.json'), `${JSON.stringify(p.execArgs)}\n`, { mode: FILE_MODE });
  return dir;
}

/**
 * The job's command on the host, as separate words: GNU parallel joins them with spaces
 * for the remote shell, and its own argv keeps the exact pair `--run-id ID`, so
 * `isWorkerOf` knows a parallel of this run (a killed supervisor's, stopped on resume).
 * `{}` is the batch, `{%}` the job slot; `$PARALLEL_SSHLOGIN` is set on the host by GNU
 * parallel to the host's entry, which every result records as `host`.
 */
export function remoteCommand(p: AttemptPlan): string[] {
  return [
    'umask',
    '077',
    '&&',
    '.',
    './env.sh',
    '&&',
    'cd',
    '{}',
    '&&',
    'exec',
    shellQuote(p.remoteCapi),
    '--in',
    'tests.ndjson',
    '--journal',
    'journal.ndjson',
    '--status',
    'status.json',
    '--batch',
    '{}',
    '--worker',
    '{%}',
    '--run-id',
    p.runId,
    '--control',
    '../control.json',
    '--host',
    '"$PARALLEL_SSHLOGIN"',
    ...(p.concurrency ? ['--concurrency', String(p.concurrency)] : []),
    ...(p.execArgs.length > 0 ? ['--options-file', '../exec-options.json'] : []),
  ];
}

export function parallelArgs(p: AttemptPlan): string[] {
  return [
    '--ssh',
    sshLine(p.ssh),
    '--sshlogin',
    p.hosts.map((h) => `${h.jobs}/${h.login}`).join(','),
    '--workdir',
    remoteAttemptDir(p.runId, p.attempt),
    '--transferfile',
    '{}',
    '--basefile',
    'env.sh',
    ...(p.execArgs.length > 0 ? ['--basefile', 'exec-options.json'] : []),
    '--joblog',
    runPaths(p.runDir).joblog(p.attempt),
    '--line-buffer',
    '--tagstring',
    '{}',
    ...remoteCommand(p),
    ':::',
    ...p.batches,
  ];
}

/** Reads GNU parallel's joblog: Seq Host Starttime JobRuntime Send Receive Exitval Signal Command. */
export function readJoblog(path: string, batches: string[]): JobEnd[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const ends: JobEnd[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.split('\t');
    if (f.length < 9) continue;
    const batch = batches[Number(f[0]) - 1];
    if (!batch) continue;
    const start = Number(f[2]);
    ends.push({
      batch,
      host: f[1] as string,
      started: Number.isFinite(start) ? new Date(start * 1000).toISOString() : null,
      runtimeS: Number(f[3]),
      exit: Number(f[6]),
      signal: Number(f[7]),
    });
  }
  return ends;
}

/** Longer than any result capi-exec writes (its bodies and debug are capped): cut, never buffered. */
const MAX_LINE = 64 * 1024 * 1024;

/** Splits a stream into lines, handing each whole line to `each`; the rest at the end. */
function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): Promise<void> {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const text = rest + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      // a line without end from a host (a hostile or broken one) is not held without bound
      rest = text.length > MAX_LINE ? '' : text;
      return;
    }
    rest = text.slice(cut + 1);
    for (const l of text.slice(0, cut).split('\n')) each(l);
  });
  return new Promise((resolve) => {
    stream.on('end', () => {
      if (rest) each(rest);
      resolve();
    });
    stream.on('error', () => resolve());
  });
}

export interface RunningAttempt {
  pid: number | null;
  /** The jobs as GNU parallel's joblog has them; batches it never started have none. */
  ended: Promise<{ code: number | null; jobs: JobEnd[] }>;
}

/**
 * GNU parallel's keeper, a few lines of perl (GNU parallel's own language, so nothing more
 * to install): `perl -e KEEPER SUPERVISOR_PID parallel ARGS…` runs GNU parallel as its child
 * and passes it SIGHUP, SIGTERM and SIGINT (the supervisor's stop, a resume's stop of what a
 * dead supervisor left). Every 200 ms it looks at its own parent: once that is no longer
 * the supervisor (killed with SIGKILL or by the out-of-memory killer, which no handler
 * sees; reparented, the parent pid changes), it sends GNU parallel SIGTERM, which starts no
 * job and ends the running ones (its --termseq: their ssh goes, and GNU parallel's remote
 * wrapper then ends the remote capi-exec). Without it GNU parallel went on until its next
 * write into the closed pipe, and a job that ended without one let it start the next batch.
 * GNU parallel has no option of its own for this: it ends its jobs on a signal, and reading
 * its arguments from the supervisor's pipe would end only the reading, not the jobs read.
 * The keeper is GNU parallel's parent (its pid cannot be reused while it waits for it) and
 * exits with its code (128 + N for a signal N).
 */
export const PARALLEL_KEEPER = [
  // a signal before GNU parallel's fork is kept and passed on after it, and the three are
  // blocked across the fork so that the child, until its exec, never takes one for itself
  // (a stop at an attempt's start was lost about once in 50 before)
  'use POSIX (); my $sup = shift @ARGV; my $pid; my $told = 0; my $pending;',
  'for my $sig (qw(HUP TERM INT)) { $SIG{$sig} = sub { if ($pid) { kill $sig, $pid } else { $pending = $sig } } }',
  'my $set = POSIX::SigSet->new(POSIX::SIGHUP(), POSIX::SIGTERM(), POSIX::SIGINT());',
  'POSIX::sigprocmask(POSIX::SIG_BLOCK(), $set);',
  '$pid = fork; die "cannot fork: $!\n" unless defined $pid;',
  'if (!$pid) { $SIG{$_} = "DEFAULT" for qw(HUP TERM INT); POSIX::sigprocmask(POSIX::SIG_UNBLOCK(), $set);',
  '  exec { $ARGV[0] } @ARGV; print STDERR "cannot run $ARGV[0]: $!\n"; exit 127 }',
  'POSIX::sigprocmask(POSIX::SIG_UNBLOCK(), $set);',
  'kill $pending, $pid if $pending;',
  'while (waitpid($pid, 1) == 0) {',
  '  if (!$told && getppid != $sup) { $told = 1; kill "TERM", $pid }',
  '  select(undef, undef, undef, 0.2);',
  '}',
  'exit($? & 127 ? 128 + ($? & 127) : $? >> 8);',
].join('\n');

/**
 * Starts the attempt. Result lines are checked (a JSON object with a string `id`, of the
 * batch its tag names) before they are appended to that batch's journal, whole; anything
 * else is written to the batch's log. Lines GNU parallel prints itself go to capi.log.
 */
export function startAttempt(p: AttemptPlan): RunningAttempt {
  const paths = runPaths(p.runDir);
  const dir = stage(p);
  // through the keeper: GNU parallel and its jobs end with the supervisor, even a SIGKILL of it
  const child = spawn('perl', ['-e', PARALLEL_KEEPER, String(process.pid), 'parallel', ...parallelArgs(p)], {
    cwd: dir,
    env: p.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group: a terminal's signals reach the supervisor alone, which decides
    detached: true,
  });
  const wanted = new Set(p.batches);
  const fds = new Map<string, number>();
  const fdOf = (file: string) => {
    let fd = fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, 'a', FILE_MODE);
      fds.set(file, fd);
    }
    return fd;
  };
  const toLog = (batch: string, text: string) =>
    writeSync(fdOf(paths.logFile(batch)), `${new Date().toISOString()} ${text}\n`);
  const onResult = (line: string) => {
    const tab = line.indexOf('\t');
    const batch = tab > 0 ? line.slice(0, tab) : '';
    if (!wanted.has(batch)) {
      if (line.trim()) p.log(`parallel (stdout): ${cleanText(line).slice(0, 500)}`);
      return;
    }
    const json = line.slice(tab + 1);
    let ok = false;
    try {
      const r = JSON.parse(json) as { id?: unknown; batch?: unknown };
      ok = r !== null && typeof r === 'object' && typeof r.id === 'string' && r.batch === batch;
    } catch {}
    if (ok) writeSync(fdOf(paths.resultFile(batch)), `${json}\n`);
    else toLog(batch, `not a result of ${batch}, not recorded: ${cleanText(json).slice(0, 300)}`);
  };
  const onStderr = (line: string) => {
    const tab = line.indexOf('\t');
    const batch = tab > 0 ? line.slice(0, tab) : '';
    if (wanted.has(batch)) toLog(batch, cleanText(line.slice(tab + 1)));
    else if (line.trim()) p.log(`parallel: ${cleanText(line).slice(0, 500)}`);
  };
  const outDone = child.stdout ? lines(child.stdout, onResult) : Promise.resolve();
  const errDone = child.stderr ? lines(child.stderr, onStderr) : Promise.resolve();
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      p.log(`cannot run GNU parallel: ${e.message}`);
      resolve(null);
    });
    child.on('exit', (code) => resolve(code));
  });
  const ended = (async () => {
    const code = await exited;
    // its output is read to the end; bounded, should a left-over process of a job hold the pipe.
    // The bound is cancelled once the output ends: a pending timer would hold the supervisor
    // (and a --foreground launch) alive for the rest of its 10 s after the run had ended.
    const bound = new AbortController();
    await Promise.race([
      Promise.all([outDone, errDone]),
      sleep(10_000, undefined, { signal: bound.signal }).catch(() => {}),
    ]);
    bound.abort();
    for (const fd of fds.values()) closeSync(fd);
    return { code, jobs: readJoblog(paths.joblog(p.attempt), p.batches) };
  })();
  return { pid: child.pid ?? null, ended };
}

import { spawn } from 'node:child_process';
import { cleanText, shellLine, shellQuote } from '@capi/core';

/**
 * The ssh side of `--hosts`: the one ssh command line (GNU parallel's `--ssh` and capi's
 * own connections use the same), and capi's own small connections to a host: the
 * check-and-prepare before an attempt, control.json pushed, the remote folder removed.
 * Nothing secret is ever on a command line: what a remote process needs goes through
 * stdin or a file copied with the owner-only mode it has here.
 */

export interface SshSettings {
  /** `--ssh-config FILE` (absolute), or null: ssh's own configuration. */
  sshConfig: string | null;
}

/** The ssh command as argv: batch mode (never a password prompt), bounded connect and keep-alive. */
export function sshArgv(s: SshSettings): string[] {
  return [
    'ssh',
    ...(s.sshConfig ? ['-F', s.sshConfig] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=20',
    '-o',
    'ServerAliveInterval=10',
    '-o',
    'ServerAliveCountMax=3',
  ];
}

/** The same for GNU parallel's `--ssh`, one shell-quoted line. */
export const sshLine = (s: SshSettings): string => shellLine(sshArgv(s));

/** `[user@]host[:port]` as ssh's own arguments: `-p PORT [user@]host`. */
export function sshTarget(login: string): string[] {
  const m = /^(.*?)(?::([0-9]+))?$/.exec(login) as RegExpExecArray;
  return m[2] ? ['-p', m[2], m[1] as string] : [login];
}

/** The folder of one run's attempts on a remote host, relative to the remote user's home. */
export const remoteRunDir = (runId: string) => `.capi-remote/${runId}`;
export const remoteAttemptDir = (runId: string, attempt: number) => `${remoteRunDir(runId)}/attempt_${attempt}`;

export interface SshOutcome {
  ok: boolean;
  /** ssh's (or the remote command's) last line on stderr, cleaned, when it failed. */
  reason: string;
}

/**
 * Runs one remote shell command with `input` on its stdin; bounded by `timeoutMs` (SIGKILL),
 * and ended (SIGKILL) when `signal` is aborted: a stop does not wait for a host that is slow to answer.
 */
export function sshRun(
  s: SshSettings,
  login: string,
  command: string,
  input: string,
  timeoutMs = 60_000,
  signal?: AbortSignal,
): Promise<SshOutcome> {
  const [cmd, ...args] = sshArgv(s) as [string, ...string[]];
  const child = spawn(cmd, [...args, ...sshTarget(login), command], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => {
    if (err.length < 8192) err += b.toString('utf8');
  });
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stopped = false;
  const stop = () => {
    stopped = true;
    child.kill('SIGKILL');
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  return new Promise((resolve) => {
    const done = (code: number | null, why?: string) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      if (stopped) why ??= 'stopped';
      const last = err.trim().split('\n').pop() ?? '';
      const reason = why ?? (code === null ? `no answer within ${Math.round(timeoutMs / 1000)} s` : `exit ${code}`);
      resolve({ ok: code === 0, reason: cleanText(last || reason) });
    };
    child.on('error', (e) => done(null, `cannot run ssh: ${e.message}`));
    child.on('close', (code) => done(code));
  });
}

/**
 * Before an attempt: reaches the host and makes the attempt's folder (owner-only) with
 * control.json in it. A host that fails this is left out of the attempt, by name.
 */
export function prepareHost(
  s: SshSettings,
  login: string,
  dir: string,
  control: string,
  signal?: AbortSignal,
): Promise<SshOutcome> {
  const d = shellQuote(dir);
  return sshRun(s, login, `umask 077 && mkdir -p ${d} && cat > ${d}/control.json`, control, 60_000, signal);
}

/** control.json replaced whole on the host (a reader never sees half a file). */
export function pushControl(s: SshSettings, login: string, dir: string, control: string): Promise<SshOutcome> {
  const d = shellQuote(dir);
  return sshRun(
    s,
    login,
    // $$: a temp file of its own (two pushes to one home at once must not share one)
    `umask 077 && cat > ${d}/control.json.$$ && mv -f ${d}/control.json.$$ ${d}/control.json`,
    control,
    30_000,
  );
}

/** The run's remote folder removed at its end (what was sent, remote journals and heartbeats). */
export function removeRemote(s: SshSettings, login: string, runId: string): Promise<SshOutcome> {
  return sshRun(s, login, `rm -rf ${shellQuote(remoteRunDir(runId))}`, '', 30_000);
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Test helper: real OpenSSH servers on 127.0.0.1 high ports, each with its own host key,
 * sshd_config and pid file in a temp folder, and one client key they all accept. The
 * "remote" side is this machine, so the remote node and capi are this checkout's.
 */

export const SSHD = '/usr/sbin/sshd';

/** Why the ssh tests cannot run here, or null. */
export function sshMissing(): string | null {
  for (const p of [SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen', '/usr/bin/parallel', '/usr/bin/rsync'])
    if (!existsSync(p)) return `${p} is not installed (apt-get install openssh-server openssh-client parallel rsync)`;
  return null;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface SshHosts {
  /** An ssh_config with one Host alias per server, and `refusing` on a port nobody listens on. */
  config: string;
  /** The alias names, one per server. */
  names: string[];
  /** Pids of the sshd processes (killed by stop()). */
  pids: number[];
  stop(): void;
}

/** Every process under `root` (children first found, then theirs), from /proc's parent pids. */
export function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const found: number[] = [];
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parentOf)
      if (under.has(ppid) && !under.has(pid)) {
        under.add(pid);
        found.push(pid);
        grew = true;
      }
  }
  return found;
}

/** Starts `count` sshd on loopback, writes the client key and ssh_config in `dir`. */
export async function startSshHosts(dir: string, count: number): Promise<SshHosts> {
  // sshd run as root wants its privilege separation folder, which only its service unit makes
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const key = join(dir, 'client_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
  const children: ChildProcess[] = [];
  const names: string[] = [];
  const lines: string[] = [];
  const common = [
    '  HostName 127.0.0.1',
    `  IdentityFile ${key}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '  BatchMode yes',
    '  ConnectTimeout 5',
  ];
  for (let k = 0; k < count; k++) {
    const hostKey = join(dir, `host_key_${k}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const port = await freePort();
    const cfg = join(dir, `sshd_config_${k}`);
    writeFileSync(
      cfg,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, `sshd_${k}.pid`)}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'MaxStartups 100:30:200',
        'MaxSessions 100',
        // the remote shell is bash: with SHLVL set it skips ~/.bashrc, whose setup may cost seconds a connection
        'SetEnv SHLVL=1',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', () => {});
    children.push(child);
    const name = `capi-host-${k + 1}`;
    names.push(name);
    lines.push(`Host ${name}`, `  Port ${port}`, ...common);
  }
  const refusingPort = await freePort();
  lines.push('Host refusing', `  Port ${refusingPort}`, ...common, '');
  const config = join(dir, 'ssh_config');
  writeFileSync(config, lines.join('\n'), { mode: 0o600 });
  const hosts: SshHosts = {
    config,
    names,
    pids: children.map((c) => c.pid ?? 0),
    stop: () => {
      // A session's sshd (and the remote worker under it) outlives its listener: a test that
      // failed mid-run left capi-exec running under orphaned sessions for as long as the
      // machine stayed up. Found from /proc while the listener still parents them, then killed.
      const sessions = children.flatMap((c) => (c.pid && c.exitCode === null ? descendantsOf(c.pid) : []));
      for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGTERM');
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    },
  };
  // each server answers before the tests use it (bounded: 50 tries)
  for (const name of names) {
    for (let tries = 0; ; tries++) {
      try {
        execFileSync('ssh', ['-F', config, name, 'true'], { stdio: 'ignore', timeout: 10_000 });
        break;
      } catch (err) {
        if (tries >= 50) {
          hosts.stop();
          throw new Error(`sshd for ${name} did not answer: ${(err as Error).message}`);
        }
        await sleep(200);
      }
    }
  }
  return hosts;
}

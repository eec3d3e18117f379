import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapiError, ExitCode, UsageError } from '@capi/core';
import { findOnPath, hostJobs, type RemoteOptions, readHosts } from '@capi/launch';

/**
 * `--hosts`, `--remote-capi`, `--ssh-config` → run.json `options.remote`, checked before
 * anything is made: the entries (exit 2 naming a bad one), GNU parallel, ssh and rsync
 * here (exit 2 with how to install them), the ssh config file.
 */
export function remoteFlags(a: Record<string, unknown>, parallel: number): RemoteOptions | null {
  const hostsValue = a.hosts as string | undefined;
  const remoteCapi = a['remote-capi'] as string | undefined;
  const sshConfig = a['ssh-config'] as string | undefined;
  if (hostsValue === undefined) {
    if (remoteCapi !== undefined) throw new UsageError('--remote-capi goes with --hosts');
    if (sshConfig !== undefined) throw new UsageError('--ssh-config goes with --hosts');
    return null;
  }
  const hosts = readHosts(hostsValue);
  for (const program of ['parallel', 'ssh', 'rsync'])
    if (!findOnPath(program))
      throw new CapiError(
        `--hosts needs ${program} here (and rsync on the hosts): apt-get install parallel openssh-client rsync`,
        ExitCode.badInput,
      );
  if (remoteCapi !== undefined && (remoteCapi.trim() === '' || remoteCapi.includes('\n')))
    throw new UsageError('--remote-capi: give the path of capi-exec on the hosts');
  let config: string | null = null;
  if (sshConfig !== undefined) {
    config = resolve(sshConfig);
    if (!existsSync(config)) throw new CapiError(`--ssh-config ${sshConfig}: no such file`, ExitCode.badInput);
  }
  return {
    hosts: hosts.map((h) => ({ login: h.login, jobs: hostJobs(h, parallel) })),
    remoteCapi: remoteCapi ?? 'capi-exec',
    sshConfig: config,
  };
}

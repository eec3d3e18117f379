import { readFileSync } from 'node:fs';
import { CapiError, ExitCode, fsReason, isErrnoException, UsageError } from '@capi/core';

/**
 * `--hosts FILE|a,b`: the machines a run's batches go to over SSH, in GNU parallel's
 * `--sshlogin` syntax `[N/][user@]host[:port]` (or a Host name of the ssh config). Each
 * entry is checked here, before anything is made: it ends up as an ssh argument, so
 * nothing that ssh could read as an option (a leading `-`) or a shell could split
 * (spaces, quotes, `;`) gets through. GNU parallel's other forms (`:` for this machine,
 * an entry that is a whole ssh command) are refused with what to do instead.
 */
export interface HostEntry {
  /** `[user@]host[:port]`: what GNU parallel's `--sshlogin` and ssh get, and the name results record. */
  login: string;
  /** Workers on this host: its own `N/`, else null (the run's `--parallel`). */
  jobs: number | null;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
// a DNS name, an IPv4 address or an ssh-config alias; no IPv6 (GNU parallel's sshlogin cannot tell its colons from a port)
const HOST = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const MAX_HOST_JOBS = 256;

/** One entry, or why it is not one (the message names the entry as given). */
export function parseHostEntry(text: string): HostEntry | string {
  const entry = text.trim();
  if (entry === ':') return 'is GNU parallel\'s "this machine": run capi-launch without --hosts for that';
  if (/\s/.test(entry)) return 'holds a space: give [N/][user@]host[:port], not an ssh command (use --ssh-config)';
  let rest = entry;
  let jobs: number | null = null;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const n = rest.slice(0, slash);
    if (!/^[0-9]+$/.test(n) || Number(n) < 1 || Number(n) > MAX_HOST_JOBS)
      return `workers "${n}/" must be a whole number from 1 to ${MAX_HOST_JOBS}`;
    jobs = Number(n);
    rest = rest.slice(slash + 1);
  }
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : null;
  let host = at >= 0 ? rest.slice(at + 1) : rest;
  if (user !== null && !USER.test(user)) return `user "${user}" is not a user name`;
  const colon = host.indexOf(':');
  if (colon >= 0) {
    const port = host.slice(colon + 1);
    if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      return `port "${port}" must be a number from 1 to 65535`;
    host = host.slice(0, colon);
  }
  if (host === '') return 'names no host';
  if (!HOST.test(host)) return `host "${host}" is not a host name (letters, digits, ".", "-", "_"; no leading "-")`;
  return { login: rest, jobs };
}

/** Entries of a comma list or of a file's lines (blank lines and `#` comments skipped), checked. */
export function parseHosts(text: string, where: (n: number) => string, sep: ',' | '\n'): HostEntry[] {
  const hosts: HostEntry[] = [];
  const seen = new Set<string>();
  const parts = text.split(sep);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const raw = (sep === '\n' ? part.replace(/#.*$/, '') : part).trim();
    if (raw === '' && sep === '\n') continue;
    const got = parseHostEntry(raw);
    if (typeof got === 'string') throw new UsageError(`${where(i + 1)}: "${raw}" ${got}`);
    if (seen.has(got.login)) throw new UsageError(`${where(i + 1)}: host "${got.login}" is given twice`);
    seen.add(got.login);
    hosts.push(got);
  }
  if (hosts.length === 0) throw new UsageError(`${where(0)}: no hosts`);
  return hosts;
}

/**
 * `--hosts VALUE`: the file of that name when there is one (one `[N/][user@]host[:port]`
 * per line), else a comma list. A value that is no list and looks like a path is a
 * missing file; a file that cannot be read is exit 2 naming it.
 */
export function readHosts(value: string): HostEntry[] {
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (err) {
    const code = isErrnoException(err) ? err.code : undefined;
    // not core's readIfExists: ENOTDIR is no file too, as `4/host` (jobs/host) with a file `4` here
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      throw new CapiError(`--hosts ${value}: ${fsReason(code)}`, ExitCode.badInput);
    try {
      return parseHosts(value, (n) => (n > 0 ? `--hosts entry ${n}` : '--hosts'), ',');
    } catch (listErr) {
      if (value.replace(/^[0-9]+\//, '').includes('/'))
        throw new CapiError(`--hosts ${value}: no such file`, ExitCode.badInput);
      throw listErr;
    }
  }
  return parseHosts(text, (n) => (n > 0 ? `${value}:${n}` : value), '\n');
}

/** run.json `options.remote`: a `--hosts` run (remote-run.ts). */
export interface RemoteOptions {
  /** Each host with its workers fixed at launch (its `N/`, else `--parallel`). */
  hosts: { login: string; jobs: number }[];
  /** The capi-exec command on the hosts (`--remote-capi`; default `capi-exec` on their PATH). */
  remoteCapi: string;
  /** `--ssh-config FILE`, absolute; null: ssh's own configuration. */
  sshConfig: string | null;
}

/** Workers on each host: its own `N/`, else `--parallel`. */
export const hostJobs = (h: HostEntry, parallel: number): number => h.jobs ?? parallel;

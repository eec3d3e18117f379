import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ExitCode, parseRunControl, plural, runPaths } from '@capi/core';
import { type AttemptRecord, appendAttempt, batchSha256, checkFrozen, readAttempts, retriesOf } from './attempts.js';
import { type Claim, writeClaim } from './claims.js';
import { forHosts, type HostControl } from './host-control.js';
import type { RemoteOptions } from './hosts.js';
import { signal } from './process.js';
import { type JobEnd, startAttempt } from './remote-attempt.js';
import { journalCount } from './results.js';
import type { Supervision } from './run-batch.js';
import { prepareHost, pushControl, remoteAttemptDir, remoteRunDir, removeRemote, type SshSettings } from './ssh.js';

/**
 * The `--hosts` supervisor (docs/capi-launch.md "Many machines"): the supervisor stays
 * here and runs the batches on the hosts in attempts. Each attempt first reaches every
 * host (one that cannot be reached is named in the log and left out; its work goes to
 * the others), then runs one GNU parallel over the hosts that answered with every batch
 * not yet ended. When it ends, each batch is judged by its local journal: whole is done;
 * a capi-exec that gave up (exit 3) or refused its input (exit 2) ends it as given up;
 * anything else (a killed worker, a host that died) leaves it for the next attempt, which
 * runs only its tests without a result. A try that failed on a host found down after it
 * does not count against `--max-restarts`; other failed tries do.
 */

const CONTROL_PUSH_MS = 1000;

/**
 * control.json's text; null when it cannot be read (missing, unreadable: a hand's rm, EACCES,
 * EMFILE), which is no change for a capi-exec here (docs/run-folder.md "control.json"), so
 * none for the hosts either.
 */
async function controlText(runDir: string): Promise<string | null> {
  try {
    return await readFile(runPaths(runDir).control, 'utf8');
  } catch {
    return null;
  }
}

/**
 * control.json as the hosts get it (host-control.ts: a rate or workers not taken sent as the
 * last one taken; before any workers taken, the attempt's slots, the most it has). `text`
 * null (it cannot be read) is `{}`: what a capi-exec starting now without one runs with.
 */
const hostsControl = (s: Supervision, kept: HostControl, slots: number, text: string | null) =>
  forHosts(text ?? '{}\n', kept, s.manifest.options.rate, s.log, slots);

/** The text with `stop: true`; a text that is not JSON is replaced by that alone. */
const withStop = (text: string): string => {
  const file = parseRunControl(text);
  return `${JSON.stringify({ ...('control' in file ? file.control : {}), stop: true })}\n`;
};

/** Reaches every host and makes the attempt's folder there; returns the ones that answered. */
async function reachHosts(
  s: Supervision,
  remote: RemoteOptions,
  ssh: SshSettings,
  attempt: number,
  control: string,
  after = false,
): Promise<RemoteOptions['hosts']> {
  const dir = remoteAttemptDir(s.manifest.id, attempt);
  // before an attempt a stop ends the connections at once (after one, the answers judge its batches)
  const stop = after ? undefined : s.halted.signal;
  const answers = await Promise.all(remote.hosts.map((h) => prepareHost(ssh, h.login, dir, control, stop)));
  if (stop?.aborted) return [];
  const up: RemoteOptions['hosts'] = [];
  remote.hosts.forEach((h, i) => {
    const a = answers[i] as { ok: boolean; reason: string };
    if (a.ok) up.push(h);
    else if (after)
      s.log(`host ${h.login} no longer answers (${a.reason}): its batches of attempt ${attempt} go elsewhere`);
    else s.log(`host ${h.login} cannot be reached (${a.reason}); attempt ${attempt} runs on the other hosts`);
  });
  return up;
}

/**
 * Pushes control.json to the attempt's hosts whenever it changes here (`--pause`, `--set`,
 * the supervisor's `workers`), and with `stop: true` once a stop is asked for: no signal
 * of this machine reaches a remote capi-exec. `slots`: the attempt's, sent as `workers` while
 * control.json's is one capi-exec would not take and none was taken before (host-control.ts).
 */
function controlPusher(
  s: Supervision,
  ssh: SshSettings,
  hosts: RemoteOptions['hosts'],
  attempt: number,
  kept: HostControl,
  slots: number,
) {
  const dir = remoteAttemptDir(s.manifest.id, attempt);
  let last = '';
  let busy = false;
  let stopSent = false;
  const push = async () => {
    if (busy) return;
    busy = true;
    try {
      const read = await controlText(s.runDir);
      // unreadable: no change for the hosts (before, `{}` went out: a paused run's hosts went on),
      // unless a stop is to be sent
      if (read === null && !s.stopping) return;
      const base = hostsControl(s, kept, slots, read);
      const text = s.stopping ? withStop(base) : base;
      if (text === last || (s.stopping && stopSent)) return;
      const sent = await Promise.all(hosts.map((h) => pushControl(ssh, h.login, dir, text)));
      sent.forEach((r, i) => {
        if (!r.ok) s.log(`could not update control.json on ${hosts[i]?.login}: ${r.reason}`);
      });
      last = text;
      if (s.stopping) stopSent = true;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void push(), CONTROL_PUSH_MS);
  return { push, stop: () => clearInterval(timer) };
}

interface Judged {
  outcome: AttemptRecord['outcome'];
  have: number;
}

/** What an attempt's end means for one batch (see the module comment). */
async function judge(
  s: Supervision,
  batch: string,
  job: JobEnd | undefined,
  up: ReadonlySet<string>,
  retries: Map<string, number>,
): Promise<Judged> {
  const expected = s.counts.get(batch) ?? 0;
  const have = await journalCount(s.runDir, batch);
  if (have >= expected) return { outcome: 'done', have };
  if (!job) return { outcome: s.stopping ? 'stopped' : 'not-started', have };
  if (job.exit === ExitCode.cannotRun) {
    s.gaveUp = true;
    return { outcome: 'failed', have };
  }
  if (job.exit === ExitCode.badInput) return { outcome: 'failed', have };
  if (s.stopping) return { outcome: 'stopped', have };
  // 255: ssh itself failed; the host is asked again before the next attempt
  if (job.exit === 255 && !up.has(job.host)) return { outcome: 'host-down', have };
  const n = (retries.get(batch) ?? 0) + 1;
  retries.set(batch, n);
  return { outcome: n > s.manifest.options.maxRestarts ? 'failed' : 'retry', have };
}

/**
 * The last attempt number used: recorded ones, and ones a killed supervisor started but
 * never recorded (their folders in remote/). A new attempt never reuses a number, so
 * never a remote folder a left-over job of the old one may still write in.
 */
function lastAttempt(runDir: string, records: readonly AttemptRecord[]): number {
  let n = records.reduce((m, r) => Math.max(m, r.attempt), 0);
  let names: string[] = [];
  try {
    names = readdirSync(runPaths(runDir).remote);
  } catch {}
  for (const name of names) {
    const m = /^attempt_([0-9]+)/.exec(name);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return n;
}

async function keepClaim(s: Supervision, claim: Claim): Promise<void> {
  await writeClaim(s.runDir, claim);
  s.claims.set(claim.batch, { ...claim });
}

const claimFor = (batch: string, pid: number | null, restarts: number): Claim => {
  const now = new Date().toISOString();
  return { batch, worker: 0, pid, state: 'running', restarts, exitCode: null, claimedAt: now, updatedAt: now };
};

/** Runs attempts until every batch has ended (or the run stops, or a capi-exec gave up). */
export async function superviseRemote(s: Supervision, remote: RemoteOptions): Promise<void> {
  const ssh: SshSettings = { sshConfig: remote.sshConfig };
  const records = readAttempts(s.runDir);
  checkFrozen(s.runDir, records);
  const retries = retriesOf(records);
  let attempt = lastAttempt(s.runDir, records);
  const used = new Set<string>();
  // attempts in a row in which no batch moved (GNU parallel failing before its jobs, say): bounded by --max-restarts
  let idle = 0;
  // control.json's last rate taken, sent to the hosts in place of one capi-exec would not take
  const kept: HostControl = {};
  while (!s.stopping && !s.gaveUp) {
    const pending = s.batches.filter((b) => {
      const c = s.claims.get(b);
      return !c || c.state === 'running';
    });
    if (pending.length === 0) break;
    attempt++;
    const slots = remote.hosts.reduce((n, h) => n + h.jobs, 0);
    await s.shareWith(Math.min(slots, pending.length));
    const control = hostsControl(s, kept, slots, await controlText(s.runDir));
    const hosts = await reachHosts(s, remote, ssh, attempt, control);
    for (const h of hosts) used.add(h.login);
    if (s.stopping) break;
    if (hosts.length === 0) {
      s.log(`attempt ${attempt}: no host can be reached; ${plural(pending.length, 'batch', 'batches')} given up`);
      for (const b of pending) await keepClaim(s, { ...claimFor(b, null, retries.get(b) ?? 0), state: 'failed' });
      break;
    }
    // the rate is shared by the workers the attempt really has
    const upSlots = hosts.reduce((n, h) => n + h.jobs, 0);
    await s.shareWith(Math.min(upSlots, pending.length));
    s.log(
      `attempt ${attempt}: ${plural(pending.length, 'batch', 'batches')} on ${hosts.map((h) => `${h.login} (${h.jobs})`).join(', ')}`,
    );
    const shas = new Map(pending.map((b) => [b, batchSha256(s.runDir, b)]));
    const before = new Map<string, number>();
    for (const b of pending) before.set(b, await journalCount(s.runDir, b));
    // a stop that came while control.json was written or a journal read: no attempt starts
    // (its jobs could send requests before GNU parallel's SIGHUP and control.json's `stop` reach them)
    if (s.stopping) break;
    let moved = false;
    const run = startAttempt({
      runDir: s.runDir,
      runId: s.manifest.id,
      attempt,
      batches: pending,
      hosts,
      ssh,
      remoteCapi: remote.remoteCapi,
      concurrency: s.manifest.options.concurrency,
      execArgs: s.manifest.options.execArgs,
      env: s.env,
      log: s.log,
    });
    const pusher = controlPusher(s, ssh, hosts, attempt, kept, upSlots);
    // a stop: no new jobs (GNU parallel's SIGHUP; its SIGTERM would kill them) and control.json `stop` on every host
    s.onStop = () => {
      if (run.pid) signal(run.pid, 'SIGHUP');
      void pusher.push();
    };
    if (s.stopping) s.onStop();
    for (const b of pending) await keepClaim(s, claimFor(b, run.pid, retries.get(b) ?? 0));
    const { code, jobs } = await run.ended;
    pusher.stop();
    s.onStop = undefined;
    if (code !== 0)
      s.log(`attempt ${attempt}: GNU parallel exit ${code} (${jobs.length} of ${pending.length} jobs ran)`);
    const byBatch = new Map(jobs.map((j) => [j.batch, j]));
    // asked again only when some job failed as ssh does (255): was it the host, or the job?
    const stillUp = jobs.some((j) => j.exit === 255)
      ? new Set((await reachHosts(s, remote, ssh, attempt, control, true)).map((h) => h.login))
      : new Set(hosts.map((h) => h.login));
    for (const batch of pending) {
      const job = byBatch.get(batch);
      const j = await judge(s, batch, job, stillUp, retries);
      // a failing supervisor let go of the run while the attempt ran (stopWorkers: the claims
      // released, a resume may have taken it): no attempt record, no claim written after that
      if (s.letGo) return;
      if (j.have > (before.get(batch) ?? 0) || j.outcome === 'done' || j.outcome === 'failed') moved = true;
      const expected = s.counts.get(batch) ?? 0;
      appendAttempt(s.runDir, {
        attempt,
        batch,
        host: job?.host ?? null,
        started: job?.started ?? null,
        ended: new Date().toISOString(),
        exit: job ? job.exit : null,
        results: j.have,
        tests: expected,
        outcome: j.outcome,
        sha256: shas.get(batch) as string,
      });
      const on = job ? ` on ${job.host} (exit ${job.exit})` : '';
      if (j.outcome === 'done' || j.outcome === 'failed')
        await keepClaim(s, {
          ...claimFor(batch, null, retries.get(batch) ?? 0),
          state: j.outcome,
          exitCode: job?.exit ?? null,
        });
      if (j.outcome !== 'done')
        s.log(`attempt ${attempt}: ${batch} ${j.outcome}${on} with ${j.have}/${expected} results`);
    }
    idle = moved || s.stopping ? 0 : idle + 1;
    if (idle > s.manifest.options.maxRestarts) {
      const left = s.batches.filter((b) => s.claims.get(b)?.state === 'running');
      s.log(
        `${plural(idle, 'attempt')} in a row ran no test (see GNU parallel's lines above); ${plural(left.length, 'batch', 'batches')} given up, resume once the cause is fixed`,
      );
      for (const b of left) await keepClaim(s, { ...claimFor(b, null, retries.get(b) ?? 0), state: 'failed' });
      break;
    }
  }
  // what was sent and the remote journals: the local journals are the record
  if (!s.stopping)
    await Promise.all(
      remote.hosts
        .filter((h) => used.has(h.login))
        .map(async (h) => {
          const r = await removeRemote(ssh, h.login, s.manifest.id);
          if (!r.ok) s.log(`could not remove ~/${remoteRunDir(s.manifest.id)} on ${h.login}: ${r.reason}`);
        }),
    );
}

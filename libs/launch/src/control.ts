import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CapiError,
  ExitCode,
  passRate,
  roundPassRate,
  runPaths,
  shellQuote,
  type TestCounts,
  UsageError,
} from '@capi/core';
import { liveWorkers, releaseStopped } from './claims.js';
import { updateControl } from './control-file.js';
import { exitCodeOf } from './finish.js';
import { type Control, type Manifest, mayRun, readControl, readManifest, updateManifest } from './manifest.js';
import { isAlive, signal, supervisorOf, waitGone } from './process.js';
import { type CountSource, runCounts } from './results.js';
import { closeSession } from './start.js';
import { readPid, runLogger, stopGraceMs } from './supervise.js';

/**
 * Live changes of docs/run-folder.md control.json; workers pick them up within a second.
 * Under control.json.lock: the supervisor rewrites the file too (`workers`), and an
 * unlocked read-modify-write of either would undo the other's change.
 */
export async function changeControl(runDir: string, change: Partial<Control>): Promise<Control> {
  const next = await updateControl(runDir, (c) => ({ ...c, ...change }));
  const m = await readManifest(runDir);
  const options = { ...m.options };
  if (change.rate !== undefined) options.rate = change.rate;
  if (change.concurrency !== undefined) options.concurrency = change.concurrency;
  await updateManifest(runDir, { options });
  return next;
}

/**
 * capi-exec's rate grammar (libs/exec/src/rate.ts): `20/s`, `600/m`, `3600/h` or a bare
 * number per second. Checked here so a typo is refused at once, not by every worker;
 * the text itself goes to control.json, where capi-exec parses it again.
 */
export function checkRate(text: string, flag = '--rate'): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/i.exec(text);
  if (!m || !(Number(m[1]) > 0))
    throw new UsageError(
      flag === '--set rate'
        ? `--set rate takes N/s or N/m, or none (or 0) for no limit (got "${text}"); N/h and a bare N (per second) work too`
        : `${flag} takes a rate like 20/s, 600/m, 3600/h or 20 (per second) (got "${text}")`,
    );
  return text.trim();
}

/** `rate=50/s`, `concurrency=16` → a control change; `rate=0` or `rate=none`: no limit (control.json `rate: null`). */
export function parseSetting(text: string): Partial<Control> {
  const m = /^(rate|concurrency)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--set takes rate=N/s, rate=N/m, rate=none or concurrency=N (got "${text}")`);
  if (m[1] === 'rate') {
    const v = (m[2] as string).trim();
    if (/^(none|0+(\.0*)?(\s*\/\s*[a-z]+)?)$/i.test(v)) return { rate: null };
    return { rate: checkRate(v, '--set rate') };
  }
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--set concurrency= takes a whole number >= 1 (got "${m[2]}")`);
  return { concurrency: n };
}

/**
 * `--pause`, `--continue` and `--set` change a live run: only a live supervisor's
 * workers read control.json. A run that is not running is refused (exit 2), saying so.
 */
export async function refuseNotRunning(runDir: string, action: string): Promise<void> {
  const m = await readManifest(runDir);
  if (mayRun(m.state) && isAlive(await readPid(runDir), supervisorOf(runDir))) return;
  const state = mayRun(m.state) ? 'its supervisor is gone' : m.state;
  throw new CapiError(
    `${action}: run ${m.id} is not running (${state}): ${action} changes a live run; resume it (capi-launch --resume ${shellQuote(runDir)}), then ${action}`,
    ExitCode.badInput,
  );
}

export interface StopOptions {
  force?: boolean;
  /** How long in-flight tests may take before the stop turns forced. */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface StopResult {
  manifest: Manifest;
  /** What happened, for the person who asked: `stopped`, `already stopped`, killed after the grace... */
  message: string;
}

/** How long a graceful stop waits before it kills, as the supervisor waits for its own workers. */
async function graceOf(runDir: string): Promise<number> {
  return stopGraceMs((await readManifest(runDir)).options.execArgs);
}

/**
 * Graceful: SIGTERM to the supervisor, which passes it to its workers (they finish what
 * is in flight and flush their journals); with the supervisor gone (kill -9), SIGTERM to
 * the workers it left. Whatever has not ended after the grace, or at once with `force`,
 * is killed with SIGKILL, said on stderr and in capi.log; the journals stay valid because
 * every line is whole before it counts. Then the run is made consistent here, since a
 * killed supervisor cannot: state `stopped`, claims released, no pid file.
 */
export async function stopRun(runDir: string, o: StopOptions = {}): Promise<StopResult> {
  const before = await readManifest(runDir);
  const pid = await readPid(runDir);
  const supervisor = pid && isAlive(pid, supervisorOf(runDir)) ? pid : null;
  const workers = mayRun(before.state) ? await liveWorkers(runDir, before.id) : [];
  if (!supervisor && workers.length === 0) {
    if (!mayRun(before.state)) {
      if (pid) await rm(runPaths(runDir).pidFile, { force: true });
      return { manifest: before, message: `run ${before.id} is not running (already ${before.state})` };
    }
    const m = await markStopped(runDir, o.env);
    return {
      manifest: m,
      message: `run ${m.id} stopped (its supervisor ${pid ?? before.pid ?? '?'} was already gone)`,
    };
  }
  const log = runLogger(runDir, false);
  const gone = (ms: number) =>
    Promise.all([
      waitGone(supervisor ? [supervisor] : [], ms, supervisorOf(runDir)),
      waitGone(workers, ms, before.id),
    ]).then((r) => r.every(Boolean));
  let killed = '';
  if (!o.force) {
    if (supervisor) signal(supervisor, 'SIGTERM');
    else for (const w of workers) signal(w, 'SIGTERM');
  }
  const graceMs = o.graceMs ?? (await graceOf(runDir));
  const left = () => [
    ...(supervisor && isAlive(supervisor, supervisorOf(runDir)) ? [`the supervisor (pid ${supervisor})`] : []),
    ...workers.filter((w) => isAlive(w, before.id)).map((w) => `worker pid ${w}`),
  ];
  // Who is left is read once the grace is over: all may have gone just after it.
  const stragglers = o.force || !(await gone(graceMs)) ? left() : [];
  if (stragglers.length > 0) {
    if (supervisor) signal(supervisor, 'SIGKILL');
    for (const w of workers) signal(w, 'SIGKILL');
    await gone(5_000);
    killed = o.force
      ? `--force: killed ${stragglers.join(', ')} with SIGKILL`
      : `did not stop within ${Math.round(graceMs / 1000)} s: killed ${stragglers.join(', ')} with SIGKILL`;
    log(`capi-launch --stop: ${killed}`);
  }
  const m = await markStopped(runDir, o.env);
  if (killed) log(`run stopped; resume it with capi-launch --resume ${shellQuote(runDir)}`);
  return { manifest: m, message: `run ${m.id} ${m.state}${killed ? `: ${killed}` : ''}` };
}

/**
 * The end of a stop whoever did it: pid file gone (a killed supervisor leaves it), claims
 * of ended workers released, `stopped` unless the supervisor wrote an end of its own.
 */
async function markStopped(runDir: string, env?: NodeJS.ProcessEnv): Promise<Manifest> {
  const pid = await readPid(runDir);
  if (pid && !isAlive(pid, supervisorOf(runDir))) await rm(runPaths(runDir).pidFile, { force: true });
  let m = await readManifest(runDir);
  await releaseStopped(runDir, (p) => isAlive(p, m.id));
  if (mayRun(m.state))
    m = await updateManifest(runDir, {
      state: 'stopped',
      pid: null,
      finished: new Date().toISOString(),
      stopSignal: 'SIGTERM',
    });
  closeSession(m, env);
  return m;
}

export interface RunSummary extends TestCounts {
  id: string;
  method: string;
  /** run.json's state, but `dead` when it says `running` and the supervisor is gone. */
  state: string;
  verdict: string | null;
  total: number;
  /** Suite tests without a result once the run is over (stopped, failed, completed); 0 while it runs. */
  /** Suite tests without a result once the run has completed; 0 before (docs/formats.md "Pass rate"). */
  missing: number;
  /** Suite tests without a result while the run can still go on (running, paused, stopped, failed, dead). */
  remaining: number;
  /** docs/formats.md "Pass rate", in percent: passed / (passed + failed + errors + missing); null before any result. */
  passRate: number | null;
  /** Where the numbers come from: the journals, or report/results.ndjson after `capi-merge --clean`. */
  countsFrom: CountSource;
  paused: boolean;
  created: string;
  finished: string | null;
  pid: number | null;
  /** The supervisor is alive. */
  alive: boolean;
  /** The run's capi-exec workers alive now (pids in running claims). */
  workers: number;
  session: string | null;
}

/** One decimal; 99.96 % is 99.9 %, never a 100 % that hides a failure. */
const roundRate = (rate: number | null) => (rate === null ? null : roundPassRate(rate, 1));

/**
 * One run's numbers, counted from its journals: heartbeats count only the current
 * capi-exec process of a batch, so they are short after a restart or a resume. The
 * journals are streamed one batch at a time (about 0.1 s per 100k results).
 */
export async function summarize(runDir: string): Promise<RunSummary> {
  const m = await readManifest(runDir);
  const pid = await readPid(runDir);
  const c = await runCounts(runDir);
  const missing = m.state === 'completed' ? Math.max(0, m.total - c.results) : 0;
  const remaining = m.state === 'completed' ? 0 : Math.max(0, m.total - c.results);
  const control = await readControl(runDir).catch(() => null);
  const alive = isAlive(pid, supervisorOf(runDir));
  const workers = mayRun(m.state) ? (await liveWorkers(runDir, m.id)).length : 0;
  return {
    id: m.id,
    method: m.method,
    state: m.state === 'running' && !alive ? 'dead' : m.state,
    verdict: m.verdict,
    total: m.total,
    done: c.results,
    passed: c.passed,
    failed: c.failed,
    errors: c.errors,
    skipped: c.skipped,
    missing,
    remaining,
    passRate: roundRate(passRate({ passed: c.passed, failed: c.failed, errors: c.errors, missing })),
    countsFrom: c.source,
    paused: control?.paused ?? false,
    created: m.created,
    finished: m.finished,
    pid: pid ?? m.pid,
    alive,
    workers,
    session: m.session,
  };
}

/**
 * Waits until the run has ended (its supervisor gone) and returns its exit code.
 * `onTick` is called about every `everyMs` with the current numbers.
 */
export async function waitRun(
  runDir: string,
  onTick: (s: RunSummary) => void = () => {},
  everyMs = 5000,
  limitMs = 7 * 24 * 3600_000,
): Promise<number> {
  const deadline = Date.now() + limitMs;
  let next = 0;
  while (Date.now() < deadline) {
    // liveness is cheap and looked at often; the numbers (journals) only every `everyMs`
    const state = (await readManifest(runDir)).state;
    const over = !isAlive(await readPid(runDir), supervisorOf(runDir)) && state !== 'created';
    if (over || Date.now() >= next) {
      onTick(await summarize(runDir));
      next = Date.now() + everyMs;
    }
    if (over) {
      const m = await readManifest(runDir);
      // The supervisor may have died without writing its end: that is not a verdict.
      if (m.state === 'running') return ExitCode.cannotRun;
      return exitCodeOf(m);
    }
    await sleep(250);
  }
  return ExitCode.cannotRun;
}

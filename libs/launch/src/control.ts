import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, runPaths, type TestCounts, UsageError } from '@capi/core';
import { readClaims } from './claims.js';
import { exitCodeOf } from './finish.js';
import { type Control, type Manifest, readControl, readManifest, updateManifest, writeControl } from './manifest.js';
import { isAlive, signal, waitGone } from './process.js';
import { type CountSource, runCounts } from './results.js';
import { closeSession } from './start.js';
import { readPid, SUPERVISOR_MARKER } from './supervise.js';

/** Live changes of docs/run-folder.md control.json; workers pick them up within a second. */
export async function changeControl(runDir: string, change: Partial<Control>): Promise<Control> {
  const next = { ...(await readControl(runDir)), ...change };
  await writeControl(runDir, next);
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
        ? `--set rate takes N/s or N/m (got "${text}"); N/h and a bare N (per second) work too`
        : `${flag} takes a rate like 20/s, 600/m, 3600/h or 20 (per second) (got "${text}")`,
    );
  return text.trim();
}

/** `rate=50/s`, `concurrency=16` → a control change. */
export function parseSetting(text: string): Partial<Control> {
  const m = /^(rate|concurrency)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--set takes rate=N/s, rate=N/m or concurrency=N (got "${text}")`);
  if (m[1] === 'rate') return { rate: checkRate(m[2] as string, '--set rate') };
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--set concurrency= takes a whole number >= 1 (got "${m[2]}")`);
  return { concurrency: n };
}

export interface StopOptions {
  force?: boolean;
  /** How long in-flight tests may take before the stop turns forced. */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** How long a graceful stop waits before it kills: capi-exec's `--grace` (default 10 s) and 10 s more. */
async function graceOf(runDir: string): Promise<number> {
  const args = (await readManifest(runDir)).options.execArgs;
  const i = args.indexOf('--grace');
  const grace = i === -1 ? 10_000 : Number(args[i + 1]);
  return (Number.isFinite(grace) ? grace : 10_000) + 10_000;
}

/**
 * Graceful: SIGTERM to the supervisor, which passes it to its workers (they finish what
 * is in flight and flush their journals). Forced: SIGKILL to all of them at once; the
 * journals stay valid because every line is whole before it counts.
 */
export async function stopRun(runDir: string, o: StopOptions = {}): Promise<Manifest> {
  const pid = await readPid(runDir);
  const workers = (await readClaims(runDir)).filter((c) => c.state === 'running' && c.pid).map((c) => c.pid as number);
  const alive = isAlive(pid, SUPERVISOR_MARKER);
  if (alive && pid) {
    signal(pid, o.force ? 'SIGKILL' : 'SIGTERM');
    if (o.force) for (const w of workers) signal(w, 'SIGKILL');
    if (!(await waitGone([pid], o.graceMs ?? (await graceOf(runDir)), SUPERVISOR_MARKER))) {
      signal(pid, 'SIGKILL');
      for (const w of workers) signal(w, 'SIGKILL');
      await waitGone([pid], 5_000, SUPERVISOR_MARKER);
    }
  }
  // a forced stop leaves the pid file of the killed supervisor behind
  if (pid && !isAlive(pid, SUPERVISOR_MARKER)) await rm(runPaths(runDir).pidFile, { force: true });
  const m = await readManifest(runDir);
  closeSession(m, o.env);
  if (m.state === 'running' || m.state === 'created') return updateManifest(runDir, { state: 'stopped', pid: null });
  return m;
}

export interface RunSummary extends TestCounts {
  id: string;
  method: string;
  state: string;
  verdict: string | null;
  total: number;
  /** Suite tests without a result once the run is over (stopped, failed, completed); 0 while it runs. */
  missing: number;
  /** docs/formats.md "Pass rate", in percent: passed / (passed + failed + errors + missing); null before any result. */
  passRate: number | null;
  /** Where the numbers come from: the journals, or report/results.ndjson after `capi-merge --clean`. */
  countsFrom: CountSource;
  paused: boolean;
  created: string;
  finished: string | null;
  pid: number | null;
  alive: boolean;
  session: string | null;
}

/**
 * One run's numbers, counted from its journals: heartbeats count only the current
 * capi-exec process of a batch, so they are short after a restart or a resume. The
 * journals are streamed one batch at a time (about 0.1 s per 100k results).
 */
export async function summarize(runDir: string): Promise<RunSummary> {
  const m = await readManifest(runDir);
  const pid = await readPid(runDir);
  const c = await runCounts(runDir);
  const over = m.state === 'completed' || m.state === 'failed' || m.state === 'stopped';
  const missing = over ? Math.max(0, m.total - c.results) : 0;
  const base = c.passed + c.failed + c.errors + missing;
  const control = await readControl(runDir).catch(() => null);
  return {
    id: m.id,
    method: m.method,
    state: m.state,
    verdict: m.verdict,
    total: m.total,
    done: c.results,
    passed: c.passed,
    failed: c.failed,
    errors: c.errors,
    skipped: c.skipped,
    missing,
    passRate: base > 0 ? Math.round((1000 * c.passed) / base) / 10 : null,
    countsFrom: c.source,
    paused: control?.paused ?? false,
    created: m.created,
    finished: m.finished,
    pid: pid ?? m.pid,
    alive: isAlive(pid, SUPERVISOR_MARKER),
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
    const over = !isAlive(await readPid(runDir), SUPERVISOR_MARKER) && state !== 'created';
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

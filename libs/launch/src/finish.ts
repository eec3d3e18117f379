import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FILE_MODE, REPORT_NAMES, runExitCode, runPaths, shellQuote, testsVerdict } from '@capi/core';
import { type Claim, releaseStopped } from './claims.js';
import { type Manifest, updateManifest } from './manifest.js';
import type { MergeAhead } from './merge-ahead.js';
import { isWorkerOf } from './process.js';
import { countResults } from './results.js';
import { toolBin } from './tools.js';

export interface FinishOptions {
  /** The run as the supervisor took it (run.json is read once more, to write its end). */
  manifest: Manifest;
  /** The run's claims as the supervisor left them: which batches were given up, which workers to release. */
  claims: readonly Claim[];
  /**
   * The signal that stopped the run, asked as the run ends and again just before the merge
   * is told to go: a stop that comes while the journals are counted still stops the run.
   */
  stopSignal: () => NodeJS.Signals | null;
  batches: string[];
  env: NodeJS.ProcessEnv;
  log: (t: string) => void;
  /** The merge started ahead (merge-ahead.ts): told to go, or killed on a stop; none: one is started here. */
  mergeAhead?: MergeAhead;
  /**
   * The workers' processes' ends. Every batch has answered when the run ends, so its
   * journal is whole: the count and the merge go on while they exit, and they are
   * awaited before run.json's end is written (and, on a stop, before claims are released).
   */
  workersEnded?: Promise<void>;
}

/** How long the run's merge may take before it is killed. */
const MERGE_TIMEOUT_MS = 30 * 60_000;

interface LoggedCommand {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** Runs a node tool or a shell command with its output appended to logs/capi.log. */
function runLogged(runDir: string, { cmd, args, env, timeoutMs }: LoggedCommand): Promise<number | null> {
  const fd = openSync(runPaths(runDir).mainLog, 'a', FILE_MODE);
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    // A spawn that fails (node's binary gone under a long run, EAGAIN) emits 'error' and no
    // 'exit': its bound is cleared too, or it would hold the ended supervisor (and a
    // --foreground or --wait launch with it) for the rest of its 30 minutes.
    const settle = (code: number | null) => {
      clearTimeout(timer);
      resolve(code);
    };
    child.on('error', () => settle(null));
    child.on('exit', settle);
  });
}

/**
 * The verdict: every suite test has a result and none failed or errored, counted from
 * the journals (cheap, and it does not depend on another tool starting). capi-merge is
 * then run for the reports only. Of the two sources, the journals' count wins
 * (docs/formats.md "Pass rate, verdict and a run's exit code"): it is what run.json
 * `verdict` and the run's exit code say. capi-merge judges the same journals by the same
 * default rule (no `--fail-if` is passed), so its exit differs only when something went
 * wrong (it miscounted, or could not run); the log then says so.
 */
async function verdictOf(runDir: string, o: FinishOptions, total: number): Promise<'passed' | 'failed' | 'stopped'> {
  const c = await countResults(runDir, o.batches);
  const missing = Math.max(0, total - c.done);
  const verdict = testsVerdict({ failed: c.failed, errors: c.errors, missing, teardownFailed: c.teardownFailed });
  o.log(
    `results: ${c.done}/${total}, passed ${c.passed}, failed ${c.failed}, errors ${c.errors}, skipped ${c.skipped}, teardown rows failed ${c.teardownFailed}`,
  );
  // a stop that came while the journals were counted: no merge goes, the run is stopped
  // (every batch is done: a resume merges and ends it). Nothing awaits from here to the go.
  if (o.stopSignal()) return 'stopped';
  const ahead = (await o.mergeAhead?.go(MERGE_TIMEOUT_MS)) ?? 'not started';
  const code =
    ahead !== 'not started'
      ? ahead
      : await runLogged(runDir, {
          cmd: process.execPath,
          args: [toolBin('merge', o.env), runDir, ...reportFlags(runDir)],
          env: o.env,
          timeoutMs: MERGE_TIMEOUT_MS,
        });
  // capi-merge itself replaces an earlier report set of the run (docs/capi-merge.md)
  if (code === 0 || code === 1) o.log(`capi-merge: report written to ${runPaths(runDir).report} (exit ${code})`);
  else o.log(`capi-merge could not write the report (exit ${code}): see above`);
  if ((code === 0 && verdict === 'failed') || (code === 1 && verdict === 'passed'))
    o.log(`capi-merge's verdict (exit ${code}) differs from the journals' (${verdict}): the journals' is kept`);
  return verdict;
}

/** The run's exit code once its supervisor is gone: core's one rule (docs/formats.md). */
export function exitCodeOf(m: Pick<Manifest, 'state' | 'verdict' | 'stopSignal'>): number {
  return runExitCode({ ...m, alive: false }) ?? ExitCode.cannotRun;
}

/**
 * Ends a run: stopped runs keep their journals for `--resume`; otherwise merge, then the
 * final state and verdict in run.json, then the user's `--on-finish` command.
 */
export async function finishRun(runDir: string, o: FinishOptions): Promise<FinishedRun> {
  const finished = new Date().toISOString();
  const stopped = async (sig: NodeJS.Signals): Promise<FinishedRun> => {
    o.mergeAhead?.cancel();
    // their claims are released for the resume once every worker has ended
    await o.workersEnded;
    await releaseStopped(runDir, o.claims, (pid) => isWorkerOf(pid, o.manifest.id));
    const stopSignal = stopSignalOf(sig);
    const m = await updateManifest(runDir, { state: 'stopped', pid: null, finished, stopSignal });
    o.log(`run stopped by ${sig}; resume it with capi-launch --resume ${shellQuote(runDir)}`);
    return { manifest: m, code: exitCodeOf(m) };
  };
  const sig = o.stopSignal();
  if (sig) return stopped(sig);
  const givenUp = o.claims.filter((c) => c.state === 'failed').map((c) => c.batch);
  const verdict = await verdictOf(runDir, o, o.manifest.total);
  if (verdict === 'stopped') return stopped(o.stopSignal() as NodeJS.Signals);
  // the run's end is written once no worker of it is left
  await o.workersEnded;
  const state = givenUp.length > 0 ? 'failed' : 'completed';
  if (givenUp.length > 0)
    o.log(
      `batches given up: ${givenUp.join(', ')}; fix the cause (see logs/), then \`capi-launch --resume ${shellQuote(runDir)}\` reruns them and the batches not started`,
    );
  const m = await updateManifest(runDir, { state, verdict, pid: null, finished });
  const code = exitCodeOf(m);
  o.log(`run ${m.id} ${state}, verdict ${verdict}, exit ${code}`);
  if (m.options.onFinish) {
    const env = {
      ...o.env,
      CAPI_RUN_DIR: runDir,
      CAPI_RUN_ID: m.id,
      CAPI_RUN_STATE: state,
      CAPI_VERDICT: verdict,
      CAPI_EXIT_CODE: String(code),
    };
    const rc = await runLogged(runDir, {
      cmd: '/bin/sh',
      args: ['-c', m.options.onFinish],
      env,
      timeoutMs: 5 * 60_000,
    });
    o.log(`--on-finish command ended with exit ${rc}`);
  }
  return { manifest: m, code };
}

/** A run's end as its supervisor wrote it. */
export interface FinishedRun {
  manifest: Manifest;
  code: number;
}

const stopSignalOf = (signal: NodeJS.Signals): 'SIGINT' | 'SIGTERM' | 'SIGHUP' =>
  signal === 'SIGINT' || signal === 'SIGHUP' ? signal : 'SIGTERM';

/** A launched run's report also has JUnit for CI and the HTML page for people. */
export function reportFlags(runDir: string): string[] {
  const report = runPaths(runDir).report;
  return ['--junit', join(report, REPORT_NAMES.junit), '--html', join(report, REPORT_NAMES.html)];
}

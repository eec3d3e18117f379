import { type ChildProcess, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { formatDuration, isLive, liveLine, plural, runPaths, shellQuote } from '@capi/core';
import {
  batchReason,
  type Launched,
  lastLogLine,
  type RunSummary,
  readClaims,
  readManifest,
  runOver,
  toolBin,
  waitRun,
  withoutTime,
} from '@capi/launch';

/**
 * After a run that ended with exit 3: why, quoted from the logs rather than guessed (the
 * given-up batches' last capi-exec lines, or the supervisor's last error), and how to go on.
 */
export async function explainFailure(runDir: string, code: number): Promise<void> {
  if (code !== 3) return;
  const m = await readManifest(runDir).catch(() => null);
  if (!m) return;
  const p = runPaths(runDir);
  const say = (t: string) => process.stderr.write(`capi-launch: ${t}\n`);
  const failed = (await readClaims(runDir).catch(() => [])).filter((c) => c.state === 'failed');
  if (m.state === 'failed' && failed.length > 0) {
    say(
      `run ${m.id} failed: ${failed.map((c) => c.batch).join(', ')} given up; see ${p.mainLog} and the batch logs in ${p.logs}`,
    );
    for (const c of failed) {
      const said = await batchReason(p.logFile(c.batch));
      say(
        `  ${c.batch} (exit ${c.exitCode ?? '-'}${c.restarts ? `, ${c.restarts} restarts` : ''}): ${said ?? 'its log is empty'}`,
      );
    }
  } else if (m.state === 'failed') {
    const said = await lastLogLine(p.mainLog, /^\d{4}-\S+Z supervisor failed: /);
    say(`run ${m.id} failed: ${said ? withoutTime(said) : `the supervisor failed: see ${p.mainLog}`}`);
  } else if (m.state === 'running' || m.state === 'created') {
    const said = await lastLogLine(p.mainLog);
    say(
      `run ${m.id}: the supervisor${m.pid ? ` (pid ${m.pid})` : ''} ended without writing an end (killed?); the last line of ${p.mainLog}: ${said ? withoutTime(said) : '(empty)'}`,
    );
  } else return;
  say(
    `fix the cause, then \`capi-launch --resume ${shellQuote(runDir)}\` goes on from the journals (--base-url etc. may be given again)`,
  );
}

/** What a person needs after a launch: where things are and the exact commands. */
export function printLaunched(l: Launched, verb: string): void {
  const m = l.manifest;
  // a tiny run can be over (run.json pid null again) before this is printed
  const pid = m.pid || l.supervisorPid;
  const lines = [
    `run ${m.id} ${verb} (${m.method}${pid ? `, supervisor pid ${pid}` : ''}): ${plural(m.total, 'test')} in ${plural(m.batches, 'batch', 'batches')}, ${plural(m.parallel, 'worker')}`,
    `  folder:  ${l.runDir}`,
    `  log:     ${runPaths(l.runDir).mainLog}`,
    `  watch:   capi-watch ${shellQuote(l.runDir)}`,
  ];
  if (m.method === 'tmux') lines.push(`  attach:  tmux attach -t ${shellQuote(m.session ?? '')}`);
  if (m.method === 'screen') lines.push(`  attach:  screen -r ${shellQuote(m.session ?? '')}`);
  lines.push(
    `  status:  capi-launch --status ${shellQuote(l.runDir)}`,
    `  stop:    capi-launch --stop ${shellQuote(l.runDir)}`,
    `  resume:  capi-launch --resume ${shellQuote(l.runDir)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `dead` says what is true: the supervisor is gone, and whether its workers still run tests. */
export function stateText(s: RunSummary): string {
  if (s.state !== 'dead') return s.state;
  if (!s.started) return 'dead (never started)';
  return `dead (supervisor gone${s.workers > 0 ? `, ${plural(s.workers, 'worker')} still running` : ''})`;
}

export function summaryLine(s: RunSummary): string {
  const rate = s.passRate !== null ? ` pass ${s.passRate.toFixed(1)}%` : '';
  const tail = s.verdict ? ` verdict ${s.verdict}` : '';
  const from = s.countsFrom === 'report' ? ' (from report/, journals cleaned)' : '';
  return `${s.id} ${stateText(s)}${s.paused ? ' (paused)' : ''} ${s.done}/${s.total} done,${rate} failed ${s.failed} errors ${s.errors}${tail}${from}`;
}

/**
 * Ctrl-C (or SIGTERM, SIGHUP) while `--wait` or `--monitor` follows a run stops the
 * following, not the run (its supervisor has a process group of its own): said on stderr,
 * so that the exit 128+N is not read as a stopped run. `before` clears what this process
 * shows first. Returns the undo.
 */
function leaveOnSignal(runDir: string, before: () => void | Promise<void> = () => {}): () => void {
  let leaving = false;
  const leave = async (sig: NodeJS.Signals) => {
    // a second signal while `before` waits (Ctrl-C pressed again) must not end this
    // process with no word: the first one's message and code follow
    if (leaving) return;
    leaving = true;
    await before();
    process.stderr.write(
      `capi-launch: ${sig}: stopped following; the run goes on: capi-launch --status ${shellQuote(runDir)}, capi-launch --stop ${shellQuote(runDir)}\n`,
    );
    process.exit(128 + (osConstants.signals[sig] ?? 2));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, leave);
  return () => {
    for (const sig of signals) process.off(sig, leave);
  };
}

/** `--wait`: progress on stderr (one live line on a TTY, plain lines otherwise), then the verdict. */
export async function waitAndReport(runDir: string): Promise<number> {
  const live = isLive(process.stderr) ? liveLine(process.stderr) : null;
  const started = Date.now();
  const stay = leaveOnSignal(runDir, () => live?.clear());
  const code = await waitRun(runDir, {
    onTick: (s) => {
      const text = `${summaryLine(s)} (${formatDuration((Date.now() - started) / 1000)})`;
      if (live) live.update(text);
      else process.stderr.write(`${text}\n`);
    },
    everyMs: live ? 2000 : 10_000,
  });
  stay();
  live?.clear();
  process.stderr.write(`run ended: exit ${code}\n`);
  await explainFailure(runDir, code);
  return code;
}

/** SIGTERM to a child, its exit awaited for at most `ms`, then SIGKILL (one that ignores SIGTERM is not left behind). */
function endChild(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** `--monitor`: capi-watch in this terminal; when it is not available, `--wait`'s lines. */
export async function monitor(runDir: string): Promise<number> {
  const child = spawn(process.execPath, [toolBin('watch'), runDir], { stdio: 'inherit' });
  // A signal sent to this process alone (kill PID, a closing parent) would leave capi-watch
  // drawing in the terminal with no one to quit it: it is stopped first, and given a moment
  // to give the terminal back (blessed restores it on SIGTERM) before the message is written.
  const stay = leaveOnSignal(runDir, () => endChild(child, 2000));
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('exit', (c) => resolve(c));
  });
  stay();
  // capi-watch ends with the run's code once the run is over, or when `q` is pressed:
  // only a run that goes on is followed here, and only then is that worth saying.
  if (!runOver(await readManifest(runDir).catch(() => null), runDir))
    process.stderr.write(
      `capi-launch: capi-watch ${code === null ? 'could not start' : `ended (exit ${code})`} while the run goes on; following it here until it ends\n`,
    );
  return waitAndReport(runDir);
}

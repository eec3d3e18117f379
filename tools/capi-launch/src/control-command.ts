import { CapiError, ExitCode, intFlag } from '@capi/core';
import {
  changeControl,
  closeSession,
  countFinished,
  failedBatches,
  launchRun,
  listRuns,
  type Method,
  overrideExecArgs,
  parseSetting,
  pruneRuns,
  type RunSummary,
  readManifest,
  refuseCleaned,
  refuseNotRunning,
  resolveRun,
  resumeRun,
  stopRun,
  summarize,
  superviseRun,
} from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import { stallFlag } from './launch-command.js';
import { explainFailure, monitor, printLaunched, summaryLine, waitAndReport } from './report.js';

interface ControlArgs {
  a: Record<string, unknown>;
  runs: string;
  method: Method | null;
  target: string | undefined;
  rawArgs: string[];
}

const note = (t: string) => process.stderr.write(`capi-launch: ${t}\n`);

/** Read-only: a dead supervisor is reported, never cleared here (its workers may still run). */
async function status(c: ControlArgs): Promise<number> {
  const dirs = c.target ? [await resolveRun(c.runs, c.target)] : (await listRuns(c.runs)).map((e) => e.dir);
  if (dirs.length === 0 && !c.a.json) process.stderr.write(`capi-launch: no runs in ${c.runs}\n`);
  for (const dir of dirs) {
    const s = await summarize(dir);
    if (c.a.json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else
      process.stdout.write(
        `${summaryLine(s)} ${s.method} started ${s.created} pid ${s.pid ?? '-'} ${s.alive ? 'alive' : 'not running'}\n`,
      );
    if (s.state === 'dead') note(deadHint(s, dir));
  }
  return ExitCode.ok;
}

function deadHint(s: RunSummary, dir: string): string {
  if (s.workers > 0)
    return `${s.id}: the supervisor is gone but ${s.workers} of its workers still run tests: capi-launch --stop ${dir} stops them, capi-launch --resume ${dir} takes the run over`;
  return `${s.id}: the supervisor is gone (killed, or the machine restarted): capi-launch --resume ${dir} goes on`;
}

async function afterStart(c: ControlArgs, l: Awaited<ReturnType<typeof resumeRun>>, verb: string): Promise<number> {
  if (l.exitCode !== null) {
    await explainFailure(l.runDir, l.exitCode);
    return l.exitCode;
  }
  printLaunched(l, verb);
  if (c.a.monitor) return monitor(l.runDir);
  if (c.a.wait) return waitAndReport(l.runDir);
  return ExitCode.ok;
}

async function rerunFailed(c: ControlArgs): Promise<number> {
  const from = await resolveRun(c.runs, c.target);
  await refuseCleaned(from, '--rerun-failed');
  const m = await readManifest(from);
  const batchSize = intFlag('batch-size', c.a['batch-size'] as string | undefined, { min: 1 }) ?? m.batchSize;
  const l = await launchRun({
    suite: m.suite.file,
    suiteSha256: m.suite.sha256,
    runsDir: c.runs,
    method: c.method ?? 'nohup',
    parallel: intFlag('parallel', c.a.parallel as string | undefined, { min: 1 }) ?? m.parallel,
    batchSize,
    force: true,
    notes: note,
    launch: {
      ...m.options,
      execArgs: overrideExecArgs(m.options.execArgs, execArgsFrom(c.a, c.rawArgs)),
      onFinish: (c.a['on-finish'] as string | undefined) ?? m.options.onFinish,
      stallTimeoutS: stallFlag(c.a) ?? m.options.stallTimeoutS ?? null,
    },
    fill: failedBatches(from, batchSize),
  });
  note(`rerunning the failed and errored tests of ${m.id}`);
  return afterStart(c, l, 'started');
}

export async function controlCommand(action: string, c: ControlArgs): Promise<number> {
  switch (action) {
    case 'supervise': {
      const dir = c.a.supervise as string;
      const code = await superviseRun(dir, { echo: c.a.echo === true });
      // tmux keeps the session for its log windows: the supervisor closes it as it leaves.
      closeSession(await readManifest(dir));
      return code;
    }
    case 'status':
      return status(c);
    case 'prune': {
      const keep = intFlag('keep', c.a.keep as string | undefined, { min: 0 }) ?? 10;
      const dry = c.a['dry-run'] === true;
      const removed = await pruneRuns(c.runs, keep, dry);
      for (const id of removed) process.stdout.write(`${dry ? 'would remove' : 'removed'} ${id}\n`);
      const kept = (await countFinished(c.runs)) - (dry ? removed.length : 0);
      note(`${dry ? 'dry run: ' : ''}${removed.length} run(s) ${dry ? 'would be ' : ''}removed, ${kept} finished kept`);
      return ExitCode.ok;
    }
    case 'rerun-failed':
      return rerunFailed(c);
  }
  const dir = await resolveRun(c.runs, c.target);
  switch (action) {
    case 'stop': {
      const { message } = await stopRun(dir, { force: c.a.force === true });
      note(message);
      return ExitCode.ok;
    }
    case 'resume':
      return afterStart(
        c,
        await resumeRun(
          dir,
          c.method,
          process.env,
          note,
          execArgsFrom(c.a, c.rawArgs),
          stallFlag(c.a),
          c.a.force === true,
        ),
        'resumed',
      );
    case 'pause':
    case 'continue': {
      await changeControl(dir, { paused: action === 'pause' });
      note(`${action === 'pause' ? 'paused' : 'continued'} ${dir}`);
      return ExitCode.ok;
    }
    case 'set': {
      const change = parseSetting(c.a.set as string);
      await refuseNotRunning(dir, '--set');
      const ctl = await changeControl(dir, change);
      note(`control of ${dir}: ${JSON.stringify(ctl)}`);
      return ExitCode.ok;
    }
  }
  throw new CapiError(`unknown action ${action}`, ExitCode.badInput);
}

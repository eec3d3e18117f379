import { CapiError, ExitCode, intFlag } from '@capi/core';
import {
  changeControl,
  clearStale,
  closeSession,
  countFinished,
  failedBatches,
  launchRun,
  listRuns,
  type Method,
  overrideExecArgs,
  parseSetting,
  pruneRuns,
  readManifest,
  refuseCleaned,
  resolveRun,
  resumeRun,
  stopRun,
  summarize,
  superviseRun,
} from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import { explainFailure, monitor, printLaunched, summaryLine, waitAndReport } from './report.js';

interface ControlArgs {
  a: Record<string, unknown>;
  runs: string;
  method: Method | null;
  target: string | undefined;
  rawArgs: string[];
}

const note = (t: string) => process.stderr.write(`capi-launch: ${t}\n`);

async function status(c: ControlArgs): Promise<number> {
  const dirs = c.target ? [await resolveRun(c.runs, c.target)] : (await listRuns(c.runs)).map((e) => e.dir);
  for (const e of await listRuns(c.runs)) {
    const stale = await clearStale(e);
    if (stale && dirs.includes(e.dir)) note(stale);
  }
  if (dirs.length === 0 && !c.a.json) process.stderr.write(`capi-launch: no runs in ${c.runs}\n`);
  for (const dir of dirs) {
    const s = await summarize(dir);
    if (c.a.json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else
      process.stdout.write(
        `${summaryLine(s)} ${s.method} started ${s.created} pid ${s.pid ?? '-'} ${s.alive ? 'alive' : 'not running'}\n`,
      );
  }
  return ExitCode.ok;
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
      const removed = await pruneRuns(c.runs, keep);
      for (const id of removed) process.stdout.write(`removed ${id}\n`);
      note(`${removed.length} run(s) removed, ${await countFinished(c.runs)} finished kept`);
      return ExitCode.ok;
    }
    case 'rerun-failed':
      return rerunFailed(c);
  }
  const dir = await resolveRun(c.runs, c.target);
  switch (action) {
    case 'stop': {
      const m = await stopRun(dir, { force: c.a.force === true });
      note(`run ${m.id} ${m.state}`);
      return ExitCode.ok;
    }
    case 'resume':
      return afterStart(c, await resumeRun(dir, c.method, process.env, note, execArgsFrom(c.a, c.rawArgs)), 'resumed');
    case 'pause':
    case 'continue': {
      await changeControl(dir, { paused: action === 'pause' });
      note(`${action === 'pause' ? 'paused' : 'continued'} ${dir}`);
      return ExitCode.ok;
    }
    case 'set': {
      const ctl = await changeControl(dir, parseSetting(c.a.set as string));
      note(`control of ${dir}: ${JSON.stringify(ctl)}`);
      return ExitCode.ok;
    }
  }
  throw new CapiError(`unknown action ${action}`, ExitCode.badInput);
}

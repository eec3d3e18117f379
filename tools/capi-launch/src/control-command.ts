import { basename } from 'node:path';
import { CapiError, ExitCode, intFlag, RunManifestError, shellQuote, UsageError } from '@capi/core';
import {
  changeControl,
  countFinished,
  currentRecords,
  damagedNote,
  failedBatches,
  fileSha256,
  type LaunchOptions,
  launchRun,
  listRuns,
  lookAtUnmade,
  type Manifest,
  type Method,
  neverStartedNote,
  noManifestNote,
  notLeftByLaunch,
  overrideExecArgs,
  parseSetting,
  pauseNote,
  pruneRuns,
  type RerunFromSuite,
  type RunSummary,
  readManifest,
  refuseCleaned,
  refuseNotRunning,
  resolveRun,
  resumeRun,
  runFoldersWithoutManifest,
  splitFlags,
  stopLaunchedRun,
  summarizeRun,
  superviseRun,
  type UnmadeLook,
} from '@capi/launch';
import { execArgsFrom } from './exec-flags.js';
import { stallFlag } from './launch-command.js';
import { explainFailure, monitor, printLaunched, waitAndReport } from './report.js';
import { givenRunOptions, refuseBatchOptions, resumeChanges } from './run-options.js';
import { statusTable } from './status-table.js';

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
  if (c.target) return statusOf(c, [await resolveRun(c.runs, c.target, note)], null);
  // folders without run.json looked for first, then the runs, then the launch lock
  // (launch-lock.ts lookAtUnmade): a run whose launch writes run.json meanwhile is shown as a
  // run, never named as a launch that died
  const seen = await runFoldersWithoutManifest(c.runs);
  const dirs = (await listRuns(c.runs, (err) => note(damagedNote(err, 'not shown')))).map((e) => e.dir);
  const look = await lookAtUnmade(
    c.runs,
    seen.filter((d) => !dirs.includes(d)),
  );
  // as listRuns: a run.json that cannot be read is no run to show, a damaged one is named
  for (const dir of look.made)
    if (
      await readManifest(dir).then(
        () => true,
        (err: unknown) => {
          if (err instanceof RunManifestError) note(damagedNote(err, 'not shown'));
          return false;
        },
      )
    )
      dirs.push(dir);
  dirs.sort((a, b) => (basename(a) < basename(b) ? -1 : 1));
  return statusOf(c, dirs, look);
}

async function statusOf(c: ControlArgs, dirs: string[], unmade: UnmadeLook | null): Promise<number> {
  if (dirs.length === 0 && !c.a.json) process.stderr.write(`capi-launch: no runs in ${c.runs}\n`);
  const runs: RunSummary[] = [];
  for (const dir of dirs) {
    const s = await summarizeRun(dir);
    runs.push(s);
    if (c.a.json) process.stdout.write(`${JSON.stringify(s)}\n`);
  }
  if (!c.a.json && runs.length > 0) process.stdout.write(statusTable(runs));
  runs.forEach((s, i) => {
    if (s.state === 'dead') note(deadHint(s, dirs[i] as string));
    // a typo in control.json, for a run that may still run: not only in the batch logs
    else if (s.rateLimit.notTaken.length > 0 && (s.state === 'running' || s.state === 'created'))
      note(`${s.id}: ${s.rateLimit.text}`);
  });
  // folders of launches under way or that died before run.json: not runs yet, named apart
  for (const dir of unmade?.unmade ?? [])
    note(noManifestNote(dir, unmade?.underWay === true, unmade?.underWay ? null : await notLeftByLaunch(dir)));
  return ExitCode.ok;
}

function deadHint(s: RunSummary, dir: string): string {
  if (!s.started) return neverStartedNote(s.id, dir);
  if (s.workers > 0)
    return `${s.id}: the supervisor is gone but ${s.workers} of its workers still run tests: capi-launch --stop ${shellQuote(dir)} stops them, capi-launch --resume ${shellQuote(dir)} takes the run over`;
  return `${s.id}: the supervisor is gone (killed, or the machine restarted): capi-launch --resume ${shellQuote(dir)} goes on`;
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

/** Where a rerun takes its tests: the current suite when it changed since `m` was launched. */
async function rerunSource(from: string, m: Manifest, options: LaunchOptions, batchSize: number) {
  const sha = await fileSha256(m.suite.file).catch(() => null);
  if (sha === null) {
    note(`${m.suite.file} is gone: rerunning the failed tests as they were split for ${m.id}`);
    return { fill: failedBatches(from, batchSize), suiteSha256: m.suite.sha256 };
  }
  if (sha === m.suite.sha256) return { fill: failedBatches(from, batchSize), suiteSha256: sha };
  if (options.autoId) {
    // row-<line> ids follow the lines: in an edited suite an id may name another row
    note(
      `${m.suite.file} changed since ${m.id}, and its ids are line numbers (--auto-id): rerunning the failed tests as they were split for ${m.id}`,
    );
    return { fill: failedBatches(from, batchSize), suiteSha256: m.suite.sha256 };
  }
  const report = (r: RerunFromSuite) => {
    const gone =
      r.goneCount > 0
        ? `; ${r.goneCount} ${r.goneCount === 1 ? 'is' : 'are'} no longer in the suite (${r.gone.join(', ')}${r.goneCount > r.gone.length ? ', …' : ''})`
        : '';
    note(
      `the suite changed since ${m.id}: took the current version of the ${r.taken} failed tests (${r.changed} of them changed)${gone}`,
    );
  };
  const records = () => currentRecords(m.suite.file, splitFlags(options), process.env);
  return { fill: failedBatches(from, batchSize, { records, report }), suiteSha256: sha };
}

async function rerunFailed(c: ControlArgs): Promise<number> {
  const from = await resolveRun(c.runs, c.target, note);
  await refuseCleaned(from, '--rerun-failed');
  const m = await readManifest(from);
  // its batches are the failed tests, a few of a suite: of one size, never grown
  if (c.a['max-batch-size'] !== undefined)
    throw new UsageError('--max-batch-size goes with a launch: --rerun-failed writes batches of --batch-size');
  const batchSize = intFlag('batch-size', c.a['batch-size'] as string | undefined, { min: 1 }) ?? m.batchSize;
  const options = { ...m.options, ...givenRunOptions(c.a) };
  const source = await rerunSource(from, m, options, batchSize);
  const l = await launchRun({
    suite: m.suite.file,
    suiteSha256: source.suiteSha256,
    runsDir: c.runs,
    method: c.method ?? 'nohup',
    parallel: intFlag('parallel', c.a.parallel as string | undefined, { min: 1 }) ?? m.parallel,
    batchSize,
    force: true,
    notes: note,
    launch: {
      ...options,
      execArgs: overrideExecArgs(m.options.execArgs, execArgsFrom(c.a, c.rawArgs)),
      onFinish: (c.a['on-finish'] as string | undefined) ?? m.options.onFinish,
      stallTimeoutS: stallFlag(c.a) ?? m.options.stallTimeoutS ?? null,
    },
    fill: source.fill,
  });
  note(`rerunning the failed and errored tests of ${m.id}`);
  return afterStart(c, l, 'started');
}

export async function controlCommand(action: string, c: ControlArgs): Promise<number> {
  switch (action) {
    case 'supervise':
      return superviseRun(c.a.supervise as string, {
        echo: c.a.echo === true,
        ...(c.a.resumed === true ? { resume: 'file' as const } : { fresh: true }),
      });
    case 'status':
      return status(c);
    case 'prune': {
      const keep = intFlag('keep', c.a.keep as string | undefined, { min: 0 }) ?? 10;
      const dry = c.a['dry-run'] === true;
      const removed = await pruneRuns(c.runs, keep, dry, note);
      for (const { id, why } of removed)
        process.stdout.write(`${dry ? 'would remove' : 'removed'} ${id}${why === 'finished' ? '' : ` (${why})`}\n`);
      const kept = (await countFinished(c.runs)) - (dry ? removed.filter((p) => p.why === 'finished').length : 0);
      note(`${dry ? 'dry run: ' : ''}${removed.length} run(s) ${dry ? 'would be ' : ''}removed, ${kept} finished kept`);
      return ExitCode.ok;
    }
    case 'rerun-failed':
      return rerunFailed(c);
  }
  const dir = await resolveRun(c.runs, c.target, note);
  switch (action) {
    case 'stop': {
      const { message } = await stopLaunchedRun(dir, { force: c.a.force === true, notes: note });
      note(message);
      return ExitCode.ok;
    }
    case 'resume':
      refuseBatchOptions(c.a, dir);
      // a --hosts run's workers per host were fixed at launch (run.json options.remote)
      if (c.a.parallel !== undefined && (await readManifest(dir)).options.remote)
        throw new UsageError(
          `--parallel cannot change on --resume of a --hosts run: its hosts' workers were fixed at launch; a new launch takes --hosts with N/ per host`,
        );
      return afterStart(
        c,
        await resumeRun({
          runDir: dir,
          method: c.method,
          notes: note,
          execArgs: execArgsFrom(c.a, c.rawArgs),
          stallTimeoutS: stallFlag(c.a),
          force: c.a.force === true,
          changes: resumeChanges(c.a),
        }),
        'resumed',
      );
    case 'pause':
    case 'continue': {
      const later = await pauseNote(dir, action === 'pause' ? '--pause' : '--continue');
      await changeControl(dir, { paused: action === 'pause' }, action === 'pause' ? '--pause' : '--continue', note);
      note(`${action === 'pause' ? 'paused' : 'continued'} ${dir}${later ? `; ${later}` : ''}`);
      return ExitCode.ok;
    }
    case 'set': {
      const change = parseSetting(c.a.set as string);
      await refuseNotRunning(dir, '--set');
      const ctl = await changeControl(dir, change, '--set', note);
      note(`control of ${dir}: ${JSON.stringify(ctl)}`);
      return ExitCode.ok;
    }
  }
  throw new CapiError(`unknown action ${action}`, ExitCode.badInput);
}

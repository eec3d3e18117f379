import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  batchCount,
  batchName,
  CapiError,
  ExitCode,
  type ExitCodeValue,
  GROW_EVERY,
  newRunId,
  normalizeTestRecord,
  shellQuote,
} from '@capi/core';
import { surelyRelative } from './base-url.js';
import { type Method, splitArgs, splitError, splitWarnings } from './create-run.js';
import { lineMentionsEnv, noteShortInRecord, noteShortValues, operatorEnv, recordEnvRefusal } from './env-refs.js';
import { execArg } from './exec-flag-list.js';
import { reportFlags } from './finish.js';
import { splitFlags } from './split-flags.js';
import { supervisorArgs } from './start.js';
import { suiteFormat } from './suite-format.js';
import { toolBin } from './tools.js';
import { runWorkerSpec, workerArgs } from './worker.js';

/**
 * `capi-launch SUITE --dry-run`: what a launch would do (tests, batches, workers, rate, the
 * commands it would run), without a run folder or any process but one capi-split reading
 * the suite to stdout, so that a bad suite is refused here as the launch would refuse it.
 */
export interface DryRunOptions {
  suite: string;
  runsDir: string;
  method: Method;
  parallel: number;
  batchSize: number;
  maxBatchSize?: number | null;
  lenient: boolean;
  /** capi-split --vars-columns, as the launch would pass it. */
  varsColumns?: string[];
  /** capi-split --auto-id, as the launch would pass it. */
  autoId?: boolean;
  concurrency: number | null;
  rate: string | null;
  execArgs: string[];
  env: NodeJS.ProcessEnv;
  warn: (line: string) => void;
}

interface SuiteCount {
  tests: number;
  /** The first record whose URL needs a base URL (id and URL). */
  relative: string | null;
  /** The launch's refusal of the first record whose `{{env.NAME}}` the workers could not read. */
  envRefusal: Error | null;
}

/** The operator's env rule (`operatorEnv`): the allow rule and the names whose values are too short to redact. */
type Operator = ReturnType<typeof operatorEnv>;

/** Runs capi-split on the suite to stdout and counts its test records. */
async function countTests(o: DryRunOptions, operator: Operator | null): Promise<SuiteCount> {
  const allow = operator?.allow ?? null;
  const csv = (await suiteFormat(resolve(o.suite))) === 'csv';
  const args = [toolBin('split', o.env), resolve(o.suite), ...splitFlags(o)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env });
  let tests = 0;
  let relative: string | null = null;
  let envRefusal: Error | null = null;
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tests++;
      // as the launch reads its batches (env-refs.ts `mentionsEnv`): a line without `env.` names no variable
      const mayUseEnv = allow !== null && envRefusal === null && lineMentionsEnv(line);
      if (relative !== null && !mayUseEnv) continue;
      const r = JSON.parse(line) as { id?: string; request?: { url?: string } };
      if (relative === null && typeof r.request?.url === 'string' && surelyRelative(r.request.url))
        relative = `${r.id} ${r.request.url}`;
      const rec = mayUseEnv && allow ? normalizeTestRecord(r, 0) : null;
      if (rec?.enabled && allow) envRefusal = recordEnvRefusal(rec, o.suite, csv, o.env, allow);
      // the launch's warning of values too short to redact, from the same records (env-refs.ts)
      if (rec?.enabled && operator && !envRefusal) noteShortInRecord(operator.short, rec, o.env);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
  });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      for (const w of splitWarnings(stderr)) o.warn(w);
      if (code === 0) return done({ tests, relative, envRefusal });
      const why = splitError(stderr) || `capi-split exited with ${code}`;
      fail(new CapiError(`splitting ${o.suite}: ${why}`, (code === 2 ? 2 : 3) as ExitCodeValue));
    });
  });
}

const line = (argv: string[]) => [process.execPath, ...argv].map(shellQuote).join(' ');

/** The plan as lines for stdout; throws what the launch would throw for a bad suite. */
export async function planRun(o: DryRunOptions): Promise<string[]> {
  if (!(await stat(o.suite).catch(() => null))?.isFile())
    throw new CapiError(`${o.suite}: no such file`, ExitCode.badInput);
  // the launch's order: a bad row, a relative URL without a base URL, then --header and {{env.NAME}}
  let operator: Operator | Error;
  try {
    operator = operatorEnv(o.execArgs, o.env);
  } catch (e) {
    operator = e as Error;
  }
  const { tests, relative, envRefusal } = await countTests(o, operator instanceof Error ? null : operator);
  const baseUrl = execArg(o.execArgs, '--base-url') || o.env.CAPI_BASE_URL || '';
  if (relative && !baseUrl)
    throw new CapiError(
      `${o.suite}: test ${relative} has a relative URL and there is no --base-url or $CAPI_BASE_URL: the launch would be refused`,
      ExitCode.badInput,
    );
  if (operator instanceof Error) throw operator;
  if (envRefusal) throw envRefusal;
  noteShortValues(operator.short, o.warn);
  const runId = newRunId();
  const runDir = resolve(o.runsDir, runId);
  const count = batchCount(tests, o.batchSize, o.maxBatchSize);
  const grows = !!o.maxBatchSize && o.maxBatchSize > o.batchSize && count > GROW_EVERY;
  const batch = (i: number) => batchName(i, count);
  const exec = (worker: number) => line(workerArgs({ ...runWorkerSpec(runDir, runId, o, o.env), worker }));
  const workers = Math.min(o.parallel, Math.max(count, 1));
  const shown = workers <= 4 ? [...Array(workers).keys()].map((k) => k + 1) : [1, 2, 3, workers];
  const out = [
    'dry run: nothing was created or started',
    `suite:    ${resolve(o.suite)}: ${tests} tests`,
    `run:      ${runDir} (the id is taken at launch)`,
    `batches:  ${count} of ${grows ? `${o.batchSize} tests, doubling every ${GROW_EVERY} batches up to ${o.maxBatchSize}` : `up to ${o.batchSize} tests`}${count > 0 ? ` (${batch(1)} to ${batch(count)})` : ''}`,
    `workers:  ${Math.min(o.parallel, Math.max(count, 1))} at once (--parallel ${o.parallel}), one capi-exec each taking batch after batch, each with ${o.concurrency ? `--concurrency ${o.concurrency}` : "capi-exec's default concurrency"}`,
    `rate:     ${o.rate ? `${o.rate} for the whole run, shared by the workers` : 'no limit'}`,
    `method:   ${o.method}`,
    `base URL: ${baseUrl || 'none (every test URL is absolute)'}`,
    'commands:',
    `  ${line(splitArgs(resolve(o.suite), o.batchSize, `${runDir}/batches`, o))}`,
    ...(o.method === 'foreground' ? [] : [`  ${line(supervisorArgs(runDir, o.env, false).slice(1))}`]),
  ];
  for (const [k, w] of shown.entries()) {
    if (k === 3 && workers > 4) out.push(`  ... ${workers - 4} more workers like these`);
    out.push(`  ${exec(w)}`);
  }
  if (count > 0)
    out.push(`    each reads its batches on stdin: {"batch":"${batch(1)}","total":${Math.min(o.batchSize, tests)}} …`);
  out.push(`  ${line([toolBin('merge', o.env), runDir, ...reportFlags(runDir)])}`);
  return out;
}

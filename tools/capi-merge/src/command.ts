import { setFlagsFromString } from 'node:v8';
import {
  ExitCode,
  formatPassRate,
  paint,
  quietFlag,
  repeatedFlag,
  UsageError,
  useColor,
  verboseFlag,
} from '@capi/core';
import { decidedBy, type MergeOutcome, merge, mergeAfterGo, ruleName, showTest } from '@capi/merge';
import { defineCommand } from 'citty';
import { info } from './info.js';
import { waitForGo } from './wait-for-go.js';

export { info } from './info.js';

function describe(o: MergeOutcome): string {
  const c = o.counts;
  const color = paint(useColor());
  const verdict = o.verdict === 'passed' ? color('green', 'PASSED') : color('red', 'FAILED');
  const parts = [
    `${c.total} tests`,
    `${c.passed} passed`,
    `${c.failed} failed`,
    `${c.errors} errors`,
    `${c.skipped} skipped`,
    `${c.missing} missing`,
    `${c.flaky} flaky`,
  ];
  const lines = [`${info.name}: ${parts.join(', ')}; pass rate ${formatPassRate(o.summary.passRate)}: ${verdict}`];
  const { flows, phases } = o.summary;
  if (flows)
    lines.push(
      `${info.name}: ${flows.total} flows: ${flows.complete} complete, ${flows.stopped} stopped at a row, ${flows.incomplete} incomplete, ${flows.rerun} re-run`,
    );
  const phaseParts = (['setup', 'teardown'] as const)
    .filter((p) => phases[p].runs > 0)
    .map((p) => `${p} ${phases[p].runs} runs (${phases[p].failed + phases[p].errors} failed or errors)`);
  if (phaseParts.length > 0) lines.push(`${info.name}: not tests: ${phaseParts.join(', ')}`);
  for (const t of o.thresholds)
    lines.push(
      `${info.name}: rule ${ruleName(t)}: ${t.crossed ? 'crossed' : 'held'} (actual ${t.actual === null ? '-' : Number(t.actual.toFixed(3))})`,
    );
  if (o.thresholds.length > 0) lines.push(`${info.name}: ${decidedBy(o.thresholds)}`);
  for (const [kind, path] of Object.entries(o.outputs))
    if (path && path !== '-') lines.push(`${info.name}: wrote ${kind}: ${path}`);
  if (o.replaced.length > 0)
    lines.push(
      `${info.name}: replaced the earlier report set (${o.replaced.length} files); latest names point at this one`,
    );
  if (o.skippedLines > 0) lines.push(`${info.name}: skipped ${o.skippedLines} malformed lines (--skip-bad-lines)`);
  if (o.cleaned.length > 0) lines.push(`${info.name}: --clean removed ${o.cleaned.length} intermediates`);
  return `${lines.join('\n')}\n`;
}

/**
 * A merge allocates gigabytes of short-lived objects (a million parsed records, their
 * report text), and V8 grows its young generation, up to 32 MB, whenever what survives
 * its collections adds up: a third of the peak RSS budget (docs/capi-merge.md,
 * "Performance"). With a growth factor of 1 it stays at its first size (2 MB): more,
 * cheaper collections, as fast by measure, 10-25 MB less peak RSS. The flag is read when
 * the young generation would grow, so setting it at run time takes effect.
 *
 * The old generation: JSON.parse internalizes each string value under 10 characters (the
 * test ids of most suites), and internalized strings are made in the old generation, so
 * dead ids pile up there between full collections: on a launched run of a million tests,
 * 7 MB alive after each one and about 29 MB before the next (`--trace-gc`); V8's string
 * table grows with them (to 8 MB, malloc'd afresh at each rehash, which fragments the C
 * heap too). `--optimize-for-size` makes V8 let the heap grow less before collecting it
 * and give freed pages back; read at each collection, so set at run time it takes effect.
 * Measured on that run: peak RSS 155-165 → 135-137 MB, CPU time unchanged within the noise
 * (docs/benchmarks.md, "Reducers, fourth round").
 */
function keepHeapSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--optimize-for-size');
}

export const command = defineCommand({
  meta: {
    name: info.name,
    version: info.version,
    description: `Merge capi result records (run folders, result files, globs or stdin) into one set of results and reports.

Examples:
  capi-merge capi-runs/latest
  capi-merge capi-runs/r1 --junit junit.xml --html report.html --fail-if 'pass_rate<99%'
  capi-merge 'machines/*/results/*.ndjson' --suite suite.csv --output-report -
  capi-split suite.csv | capi-exec --base-url http://localhost:8080 | capi-merge --suite suite.csv --junit junit.xml
`,
  },
  args: {
    inputs: {
      type: 'positional',
      valueHint: 'INPUT',
      required: false,
      description: 'Run folders, result files or globs (quote them), - for stdin; none reads stdin',
    },
    suite: {
      type: 'string',
      valueHint: 'FILE',
      description:
        'Suite (CSV or NDJSON test records, told apart by content; - = stdin): every id in it must have a result',
    },
    'auto-id': {
      type: 'boolean',
      description: 'With a --suite CSV: a row without an id is row-<line>, as capi-split --auto-id names it',
    },
    'output-json': {
      type: 'string',
      valueHint: 'FILE',
      description: 'Full JSON report path (default report/aggregated_results_TIMESTAMP.json); - = stdout',
    },
    'output-csv': {
      type: 'string',
      valueHint: 'FILE',
      description: 'CSV path, one row per test (default report/aggregated_results_TIMESTAMP.csv); - = stdout',
    },
    'output-report': {
      type: 'string',
      valueHint: 'FILE',
      description: 'Text summary path (default report/test_summary_report_TIMESTAMP.txt); - = stdout',
    },
    junit: { type: 'string', valueHint: 'FILE', description: 'Also write JUnit XML here (one testsuite per batch)' },
    html: { type: 'string', valueHint: 'FILE', description: 'Also write a self-contained offline HTML report here' },
    ndjson: { type: 'boolean', description: 'Stream the merged result records to stdout' },
    'fail-if': {
      type: 'string',
      valueHint: 'EXPR',
      description:
        "Repeatable threshold that fails the run, e.g. 'pass_rate<99%' (percent, % required), 'p95>800ms', 'p99>1.5s', 'errors>0', 'flaky>0'; they add to the default rule (any failed, errored or missing test fails); one on failed, errors, missing or pass_rate replaces that part",
    },
    clean: {
      type: 'boolean',
      description:
        'After every output is written, remove the run folder intermediates (batches, claims, status, journals)',
    },
    'report-dir': {
      type: 'string',
      valueHint: 'DIR',
      description: "Folder of the default reports (default: the run's report/); needed to merge several runs",
    },
    'skip-bad-lines': {
      type: 'boolean',
      description: 'Skip malformed result lines (each one warned about and counted) instead of exit 2',
    },
    show: {
      type: 'string',
      valueHint: 'ID',
      description:
        "Print one test's request and response (as capi-exec --trace does) from the inputs' journals to stdout; writes no report",
    },
    quiet: quietFlag,
    verbose: verboseFlag,
    'after-go': {
      type: 'boolean',
      description:
        'internal: load and read what is complete (batch files, ended journals), the rest after the line "go" on stdin (capi-launch starts its merge ahead)',
    },
  },
  async run({ args, rawArgs }) {
    keepHeapSmall();
    const inputs = (args._ as string[]).map(String);
    // A merge after the go reads the batch files and the suite while it waits (libs/merge mergeAfterGo);
    // --show, and a usage error, wait for the go first, as before.
    const problem = usageAfterInputs(args, inputs);
    const readsAhead = Boolean(args['after-go']) && typeof args.show !== 'string' && problem === null;
    if (args['after-go']) {
      // stdin is the go signal here, so it cannot be an input too
      if (inputs.length === 0 || inputs.includes('-') || args.suite === '-')
        throw new UsageError('--after-go reads stdin for its go line: name the inputs and the suite as files');
      // no go: its launcher is gone or stopped the run; a silent exit 3 (wait-for-go.ts)
      if (!readsAhead && !(await waitForGo(process.stdin))) return ExitCode.cannotRun;
    }
    if (problem) throw problem;
    if (typeof args.show === 'string') {
      process.stdout.write(await showTest({ id: args.show, inputs, stdin: process.stdin }));
      return 0;
    }
    const options = {
      inputs,
      suite: args.suite,
      autoId: Boolean(args['auto-id']),
      outputJson: args['output-json'],
      outputCsv: args['output-csv'],
      outputReport: args['output-report'],
      junit: args.junit,
      html: args.html,
      ndjson: Boolean(args.ndjson),
      failIf: repeatedFlag(rawArgs, 'fail-if'),
      clean: Boolean(args.clean),
      reportDir: args['report-dir'],
      skipBadLines: Boolean(args['skip-bad-lines']),
      warn: (m: string) => process.stderr.write(`${info.name}: warning: ${m}\n`),
    };
    const outcome = readsAhead ? await mergeAfterAGo(options) : await merge(options);
    // no go: nothing merged, nothing said (wait-for-go.ts)
    if (outcome === null) return ExitCode.cannotRun;
    if (!args.quiet) process.stderr.write(describe(outcome));
    return outcome.exitCode;
  },
});

/**
 * The usage errors that depend on the inputs, in the order they are told; null when there
 * is none. One list, so that a merge after a go knows whether it may read ahead (it may
 * not when one of these will be told after the go).
 */
function usageAfterInputs(
  args: { show?: unknown; suite?: unknown; 'auto-id'?: unknown },
  inputs: string[],
): UsageError | null {
  if (inputs.length === 0 && process.stdin.isTTY)
    return new UsageError('no input: name a run folder, result files, or pipe result records into stdin');
  if (typeof args.show === 'string') return args.show === '' ? new UsageError('--show takes a test id') : null;
  if (args.suite === '-' && process.stdin.isTTY)
    return new UsageError(
      '--suite -: stdin is a terminal; pipe the suite in (capi-merge r.ndjson --suite - < suite.csv)',
    );
  if (args['auto-id'] && !args.suite)
    return new UsageError('--auto-id names the rows of a --suite CSV: give the suite with --suite FILE');
  return null;
}

/**
 * Listens for the go from the start: stdin ending without one (the supervisor died, the
 * run was stopped) ends the early read between two files, not after the whole of it. Until
 * then the early read waits for the run's journals to complete and reads each as its batch
 * ends (capi-launch starts this merge with the run's first batches).
 */
function mergeAfterAGo(options: Parameters<typeof mergeAfterGo>[0]) {
  let ended = false;
  const going = waitForGo(process.stdin);
  going.then(
    (go) => {
      ended = !go;
    },
    () => {
      ended = true;
    },
  );
  // the early read waits for journals to complete until the go comes (or stdin ends)
  return mergeAfterGo(
    options,
    () => going,
    () => ended,
    going,
  );
}

import {
  execFlagArgs,
  isLive,
  liveLine,
  NdjsonWriter,
  quietFlag,
  SUPERVISOR_PID_ENV,
  UsageError,
  verboseFlag,
} from '@capi/core';
import {
  endLines,
  execute,
  formatProgress,
  type LiveState,
  runExitCode,
  type ServeBase,
  serveBatches,
  signalExitCode,
} from '@capi/exec';
import { defineCommand } from 'citty';
import { info } from './info.js';
import { type Args, toOptions } from './options.js';

export { info } from './info.js';

const log = (line: string) => process.stderr.write(`${info.name}: ${line}\n`);

/**
 * SIGINT/SIGTERM/SIGHUP: the first stops gracefully, a second exits at once (the journal's
 * lines are whole). SIGHUP (the terminal closed) is a stop like SIGTERM, exit 143.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
function onSignals(stop: AbortController): {
  signal: () => NodeJS.Signals | null;
  /** A stop as a first SIGTERM, for a cause no signal brings (`why`, said on stderr). */
  stopAsTerm: (why: string) => void;
  off: () => void;
} {
  let got: NodeJS.Signals | null = null;
  // stopped by `stopAsTerm`: the next signal is the first one sent (a resume's SIGTERM to a
  // dead supervisor's worker waits for its tests in flight, as a first SIGTERM does)
  let unsignalled = false;
  const handler = (sig: NodeJS.Signals) => {
    if (got && !unsignalled) {
      log(`second ${sig}: exiting now`);
      process.exit(signalExitCode(sig));
    }
    const already = got !== null;
    got = sig;
    unsignalled = false;
    log(`${sig}: taking no new tests; waiting for the ones in flight (--grace)`);
    if (!already) stop.abort();
  };
  for (const sig of SIGNALS) process.on(sig, handler);
  return {
    signal: () => got,
    stopAsTerm: (why) => {
      if (got) return;
      got = 'SIGTERM';
      unsignalled = true;
      log(`${why}: taking no new tests; waiting for the ones in flight (--grace)`);
      stop.abort();
    },
    off: () => {
      for (const sig of SIGNALS) process.off(sig, handler);
    },
  };
}

/**
 * `--serve`: the process that started it (capi-launch's supervisor) is gone. A supervisor
 * killed with SIGKILL or by the out-of-memory killer sends nothing and closes nothing a
 * batch running would notice: the worker's parent pid, which changes as it is reparented,
 * is looked at once at the start and then every 200 ms, and `then` is called once when it
 * is not the supervisor's. The timer holds nothing open.
 */
const PARENT_CHECK_MS = 200;
function onParentGone(then: (parent: number) => void): () => void {
  // the supervisor names itself (core SUPERVISOR_PID_ENV): one killed while this worker was
  // starting has already given it another parent, which the first look would take for it
  const named = Number(process.env[SUPERVISOR_PID_ENV]);
  const parent = Number.isSafeInteger(named) && named > 0 ? named : process.ppid;
  const check = () => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    then(parent);
  };
  const timer = setInterval(check, PARENT_CHECK_MS);
  timer.unref();
  // the first look once the caller has set up what a stop ends (the wait for a request)
  const first = setImmediate(check);
  return () => {
    clearImmediate(first);
    clearInterval(timer);
  };
}

const RESULT_GATHER_MS = 10;

const NO_PROGRESS = { stop: () => {}, clear: () => {} };

function startProgress(live: LiveState, quiet: boolean) {
  // docs/cli.md: live lines only on a TTY stderr, TERM not dumb, NO_COLOR unset; and
  // only when stdout is not the terminal too (the results would be torn by the line).
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  if (quiet || noColor || !isLive(process.stderr) || process.stdout.isTTY) return NO_PROGRESS;
  const line = liveLine(process.stderr);
  const timer = setInterval(() => line.update(formatProgress(live)), 500);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      line.clear();
    },
    /** Before other stderr text (a --trace story): the line is drawn again on the next tick. */
    clear: () => line.clear(),
  };
}

/** What each `--serve` request brings: refused on the command line. */
const PER_BATCH = ['in', 'journal', 'status', 'batch', 'total'] as const;

/** `--serve RUN`: capi-launch's worker, batch after batch in one process (libs/exec serve.ts). */
async function serve(runDir: string, args: Args, rawArgs: string[]): Promise<number> {
  if (runDir === '') throw new UsageError('--serve takes the run folder');
  for (const name of PER_BATCH)
    if (args[name] !== undefined)
      throw new UsageError(`--serve takes --${name} from each request, not the command line`);
  const { input, source, reread, journal, status, batch, total, ...base } = toOptions(
    args,
    rawArgs,
    process.env,
    false,
  );
  const stop = new AbortController();
  const signals = onSignals(stop);
  // its supervisor killed (SIGKILL, the OOM killer): nobody reads the answers and a resume
  // may be on its way, so it stops as on SIGTERM, and the batch queued behind never starts
  const unwatch = onParentGone((parent) => signals.stopAsTerm(`the process that started it (pid ${parent}) is gone`));
  // a stop while waiting for the next request ends the wait
  stop.signal.addEventListener('abort', () => process.stdin.destroy());
  const answer = (line: string) =>
    new Promise<void>((done, fail) => process.stdout.write(`${line}\n`, (err) => (err ? fail(err) : done())));
  try {
    return await serveBatches({
      runDir,
      base: base satisfies ServeBase,
      requests: process.stdin,
      answer,
      stop: stop.signal,
      signal: signals.signal,
      quiet: args.quiet === true,
      log,
    });
  } finally {
    unwatch();
    signals.off();
  }
}

export const command = defineCommand({
  meta: {
    name: info.name,
    version: info.version,
    description: `Run test records (NDJSON) against an HTTP API; write one result record per test (NDJSON) to stdout.

Examples:
  capi-split suite.csv | capi-exec --base-url http://localhost:8080 --concurrency 32 | capi-merge --suite suite.csv --junit junit.xml
  capi-exec --base-url http://localhost:8080 --in batch_0001.ndjson --journal results/batch_0001.ndjson --status status/batch_0001.json --rate 20/s
  API_TOKEN=… capi-exec --in tests.ndjson --base-url http://localhost:8080 --header 'Authorization: Bearer {{env.API_TOKEN}}' > results.ndjson
  CAPI_TOKEN=… capi-exec --in tests.ndjson --base-url http://localhost:8080 --allow-env ORDER_KEY --var region=eu --vars vars.env
  capi-exec --in tests.ndjson --base-url http://localhost:8080 --shard 2/4 --max-errors 10% --timeout 5000`,
  },
  args: {
    in: { type: 'string', valueHint: 'FILE', description: 'Test records to run (NDJSON); - or none reads stdin' },
    // the flags capi-launch passes on too: one definition in core (exec-flags.ts)
    ...execFlagArgs('capi-exec'),
    journal: {
      type: 'string',
      valueHint: 'FILE',
      description: 'Append each result here before it counts as done; resume skips the ids it holds',
    },
    force: { type: 'boolean', description: 'Resume even if the suite changed since the journal was written' },
    status: {
      type: 'string',
      valueHint: 'FILE',
      description: 'Heartbeat JSON file, replaced atomically at most once a second and at the end',
    },
    control: {
      type: 'string',
      valueHint: 'FILE',
      description: 'control.json to re-read every 250 ms: paused, rate (shared by workers), concurrency',
    },
    batch: { type: 'string', valueHint: 'NAME', description: 'Batch name copied into results and the heartbeat' },
    worker: { type: 'string', valueHint: 'N', description: 'Worker number copied into results' },
    'run-id': { type: 'string', valueHint: 'ID', description: 'Run id copied into results' },
    host: {
      type: 'string',
      valueHint: 'NAME',
      description: 'Machine name copied into results (host); capi-launch --hosts gives each remote worker its own',
    },
    'options-file': {
      type: 'string',
      valueHint: 'FILE',
      description: 'More flags from a file (a JSON array of argv words), kept off the command line (--header secrets)',
    },
    total: { type: 'string', valueHint: 'N', description: 'How many tests there are, for progress and the heartbeat' },
    shard: {
      type: 'string',
      valueHint: 'K/N',
      description: 'K/N: run only this shard (the same split as capi-split --shard); auto: from the CI (docs/ci.md)',
    },
    serve: {
      type: 'string',
      valueHint: 'RUN',
      description:
        'capi-launch\'s worker: run batches of the run folder RUN as asked on stdin ({"batch":…,"total":N} a line), answering each with its exit code on stdout (docs/run-folder.md)',
    },
    trace: {
      type: 'string',
      valueHint: 'ID',
      description:
        'Repeatable: print the request as sent and the response of these tests on stderr (secrets redacted): an id, tag:NAME, or failed',
    },
    quiet: quietFlag,
    verbose: verboseFlag,
  },
  async run({ args, rawArgs }) {
    if (typeof args.serve === 'string') return serve(args.serve, args as Args, rawArgs);
    const options = toOptions(args as Args, rawArgs, process.env);
    const stop = new AbortController();
    const signals = onSignals(stop);
    let progress = NO_PROGRESS;
    const onLive = (live: LiveState) => {
      progress = startProgress(live, args.quiet === true);
    };
    const trace = options.trace;
    if (trace)
      options.trace = {
        ...trace,
        write: (text) => {
          progress.clear();
          trace.write(text);
        },
      };
    // results are gathered for up to 10 ms: one write (one wake of the reader) per batch (issue 16)
    const writer = new NdjsonWriter(process.stdout, undefined, RESULT_GATHER_MS);
    // A stop closes stdin too, so a run waiting for more input ends.
    stop.signal.addEventListener('abort', () => {
      if (options.source === '<stdin>') process.stdin.destroy();
    });
    try {
      const summary = await execute({ ...options, stop: stop.signal, onLive, log }, (json) => writer.writeLine(json));
      await writer.close();
      progress.stop();
      for (const line of endLines(summary, args.quiet === true)) log(line);
      return runExitCode(summary, signals.signal());
    } finally {
      progress.stop();
      signals.off();
    }
  },
});

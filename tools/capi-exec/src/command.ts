import { ExitCode, isLive, liveLine, NdjsonWriter } from '@capi/core';
import { type ExecuteSummary, execute, formatProgress, formatSummary, type LiveState } from '@capi/exec';
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
const codeOf = (sig: NodeJS.Signals) => (sig === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm);

function onSignals(stop: AbortController): { signal: () => NodeJS.Signals | null; off: () => void } {
  let got: NodeJS.Signals | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (got) {
      log(`second ${sig}: exiting now`);
      process.exit(codeOf(sig));
    }
    got = sig;
    log(`${sig}: taking no new tests; waiting for the ones in flight (--grace)`);
    stop.abort();
  };
  for (const sig of SIGNALS) process.on(sig, handler);
  return {
    signal: () => got,
    off: () => {
      for (const sig of SIGNALS) process.off(sig, handler);
    },
  };
}

function exitCode(s: ExecuteSummary, signal: NodeJS.Signals | null): number {
  if (s.stoppedBy === 'stop' && signal) return codeOf(signal);
  if (s.stoppedBy === 'max-errors' || s.stoppedBy === 'unreachable' || s.setupFailed) return ExitCode.cannotRun;
  return s.failed + s.errors + s.resumedNotPassed > 0 ? ExitCode.testsFailed : ExitCode.ok;
}

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

export const command = defineCommand({
  meta: {
    name: info.name,
    version: info.version,
    description: `Run test records (NDJSON) against an HTTP API; write one result record per test (NDJSON) to stdout.

Examples:
  capi-split suite.csv | capi-exec --base-url http://localhost:8080 --concurrency 32 | capi-merge --junit junit.xml
  capi-exec --in batch_0001.ndjson --journal results/batch_0001.ndjson --status status/batch_0001.json --rate 20/s
  API_TOKEN=… capi-exec --in tests.ndjson --base-url http://localhost:8080 --header 'Authorization: Bearer {{env.API_TOKEN}}' > results.ndjson
  CAPI_TOKEN=… capi-exec --in tests.ndjson --allow-env ORDER_KEY --var region=eu --vars vars.env
  capi-exec --in tests.ndjson --shard 2/4 --max-errors 10% --timeout 5000`,
  },
  args: {
    in: { type: 'string', valueHint: 'FILE', description: 'Test records to run (NDJSON); - or none reads stdin' },
    'base-url': {
      type: 'string',
      valueHint: 'URL',
      description: 'Joined to relative test URLs (default: $CAPI_BASE_URL)',
    },
    header: {
      type: 'string',
      valueHint: "'NAME: VALUE'",
      alias: 'H',
      description:
        "Repeatable 'Name: value' sent with every test ({{env.NAME}} allowed); a later one of the same name (any case) replaces an earlier one; a test's own headers win",
    },
    'header-all-origins': {
      type: 'boolean',
      description:
        '--header values go to every origin, not only the --base-url one (a suite row may name another host)',
    },
    'allow-env': {
      type: 'string',
      description:
        'Env variables a suite may read with {{env.NAME}}, besides CAPI_*: NAME,NAME2,PREFIX_* (repeatable); their values are redacted',
    },
    var: {
      type: 'string',
      valueHint: 'NAME=VALUE',
      description: 'Repeatable NAME=value for {{var.NAME}} templates: plain values, not secrets, never redacted',
    },
    vars: { type: 'string', description: 'File of plain variables: a JSON object, or .env lines (NAME=value)' },
    concurrency: { type: 'string', valueHint: 'N', description: 'Tests in flight at once (default 16)' },
    rate: {
      type: 'string',
      valueHint: 'RATE',
      description: 'Most tests started per second: 20/s, 600/m, 3600/h (smooth, no bursts)',
    },
    delay: { type: 'string', valueHint: 'MS', description: 'Pause in ms between tests on each lane (default 0)' },
    timeout: {
      type: 'string',
      valueHint: 'MS',
      description: "Abort a request after this many ms (an error; default 30000); a test's timeout_ms wins",
    },
    insecure: { type: 'boolean', description: 'Accept self-signed or otherwise invalid TLS certificates' },
    'max-body': {
      type: 'string',
      description:
        'Read at most this many bytes of a response (decoded when compressed); the rest is drained (default 1048576, at most 268435456)',
    },
    'max-pause': {
      type: 'string',
      description:
        'Longest pause in seconds the API may ask for (Retry-After, rate-limit headers); a longer one ends the waiting tests as errors (default 300, at most 86400)',
    },
    compressed: {
      type: 'boolean',
      description: "Ask for compressed answers (Accept-Encoding: gzip, deflate, br); a test's own Accept-Encoding wins",
    },
    retries: {
      type: 'string',
      valueHint: 'N',
      description:
        'Retries of a test that got no usable answer (error), with backoff (default 2); a POST or PATCH only when it never reached the server',
    },
    'retry-unsafe': {
      type: 'boolean',
      description: 'Retry requests that are not idempotent (POST, PATCH) after any error too (they may run twice)',
    },
    'reauth-on': {
      type: 'string',
      valueHint: 'STATUSES',
      description:
        'Statuses (e.g. 401,403) that make a process with setup rows log in again, once for all lanes, and send the test once more; none turns it off (default 401)',
    },
    'max-errors': {
      type: 'string',
      valueHint: 'N|P%',
      description: 'Stop early with exit 3 after more than N errors, or more than P% (e.g. 10%) after 20 tests',
    },
    journal: {
      type: 'string',
      valueHint: 'FILE',
      description: 'Append each result here before it counts as done; resume skips the ids it holds',
    },
    fsync: { type: 'boolean', description: 'fdatasync the journal after every write (survives power loss, slower)' },
    force: { type: 'boolean', description: 'Resume even if the suite changed since the journal was written' },
    status: {
      type: 'string',
      valueHint: 'FILE',
      description: 'Heartbeat JSON file, replaced atomically at most once a second and at the end',
    },
    control: {
      type: 'string',
      valueHint: 'FILE',
      description: 'control.json to re-read every second: paused, rate (shared by workers), concurrency',
    },
    batch: { type: 'string', valueHint: 'NAME', description: 'Batch name copied into results and the heartbeat' },
    worker: { type: 'string', valueHint: 'N', description: 'Worker number copied into results' },
    'run-id': { type: 'string', valueHint: 'ID', description: 'Run id copied into results' },
    'options-file': {
      type: 'string',
      description: 'More flags from a file (a JSON array of argv words), kept off the command line (--header secrets)',
    },
    total: { type: 'string', valueHint: 'N', description: 'How many tests there are, for progress and the heartbeat' },
    shard: {
      type: 'string',
      valueHint: 'K/N',
      description: 'K/N: run only this shard (the same split as capi-split --shard); auto: from the CI (docs/ci.md)',
    },
    grace: {
      type: 'string',
      valueHint: 'MS',
      description: 'After SIGINT/SIGTERM, ms to let tests in flight finish before cutting them (default 10000)',
    },
    trace: {
      type: 'string',
      description:
        'Repeatable: print the request as sent and the response of these tests on stderr (secrets redacted): an id, tag:NAME, or failed',
    },
    quiet: { type: 'boolean', description: 'No summary line on stderr' },
    verbose: { type: 'boolean', description: 'Stack traces on errors' },
  },
  async run({ args, rawArgs }) {
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
    const writer = new NdjsonWriter(process.stdout);
    // A stop closes stdin too, so a run waiting for more input ends.
    stop.signal.addEventListener('abort', () => {
      if (options.source === '<stdin>') process.stdin.destroy();
    });
    try {
      const summary = await execute({ ...options, stop: stop.signal, onLive, log }, (json) => writer.writeLine(json));
      await writer.close();
      progress.stop();
      if (summary.setupFailed)
        log(`setup failed: ${summary.setupFailed.replace(/^not sent: /, '')}; no test was sent after it`);
      if (summary.stoppedBy === 'max-errors') log(`stopped early: ${summary.reason}`);
      if (summary.stoppedBy === 'unreachable')
        log(`${summary.reason}; nothing was recorded for the ${summary.cut} tests tried, a resume runs them`);
      if (args.quiet !== true) log(formatSummary(summary).replace(`${info.name}: `, ''));
      return exitCode(summary, signals.signal());
    } finally {
      progress.stop();
      signals.off();
    }
  },
});

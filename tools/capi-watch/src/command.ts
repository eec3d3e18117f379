import { intFlag, runsDir, UsageError, useColor, verboseFlag } from '@capi/core';
import {
  formatJson,
  formatPlain,
  intervalPresenter,
  openDashboard,
  type WatchOptions,
  watchRuns,
  watchSummary,
} from '@capi/watch';
import { defineCommand } from 'citty';
import { info } from './info.js';

export { info } from './info.js';

export const command = defineCommand({
  meta: {
    name: info.name,
    version: info.version,
    description: `Watch a capi run live: progress, rate, ETA, failures, workers and logs.

On a terminal it draws a dashboard (q quits and leaves the run going, s stops the run,
f filters failures, ? shows keys). Piped, it prints a plain text block every --interval
seconds. It ends by itself when the run ends, with the run's verdict as exit code
(0 passed, 1 failed, 3 DEAD or failed to run).

Examples:
  capi-watch                                 # the newest run under CAPI_RUNS_DIR or ./capi-runs
  capi-watch capi_test_20260101_103000       # a run id, or a run folder
  capi-watch --summary                       # print the state once and exit
  capi-watch --json --interval 2 | jq .done  # one NDJSON snapshot per interval
  capi-watch --status st.json --journal results.ndjson   # a bare capi-exec`,
  },
  args: {
    run: {
      type: 'positional',
      valueHint: 'RUN',
      required: false,
      description: 'Run id (under the runs folder) or run folder; default the newest run',
    },
    plain: {
      type: 'boolean',
      description: 'Plain text block every --interval seconds (automatic when stdout is not a terminal)',
    },
    json: { type: 'boolean', description: 'One NDJSON snapshot per --interval on stdout' },
    summary: { type: 'boolean', description: 'Print the current state once and exit' },
    interval: { type: 'string', valueHint: 'SECONDS', description: 'Seconds between plain/json prints (default 5)' },
    'stall-after': {
      type: 'string',
      valueHint: 'SECONDS',
      description: 'Seconds without a moving heartbeat before a running run is STALLED (default 60)',
    },
    follow: { type: 'boolean', description: 'When the run ends, wait for the next run and watch it too' },
    status: { type: 'string', valueHint: 'FILE', description: "A bare capi-exec's --status heartbeat file" },
    journal: { type: 'string', valueHint: 'FILE', description: "A bare capi-exec's --journal file" },
    verbose: verboseFlag,
  },
  async run({ args }) {
    const run = (args._ as string[])[1] !== undefined ? undefined : (args._ as string[])[0];
    if ((args._ as string[]).length > 1) throw new UsageError('give at most one RUN');
    const options: WatchOptions = {
      run: run === undefined ? undefined : String(run),
      status: args.status,
      journal: args.journal,
      runsDir: runsDir(),
      cwd: process.cwd(),
      stallAfterS: intFlag('stall-after', args['stall-after'], { min: 1 }) ?? 60,
      follow: Boolean(args.follow),
    };
    const intervalS = intFlag('interval', args.interval, { min: 1 }) ?? 5;
    const io = {
      now: Date.now,
      stdout: process.stdout,
      note: (text: string) => process.stderr.write(`capi-watch: ${text}\n`),
    };
    const format = args.json ? formatJson : formatPlain;
    if (args.summary) return watchSummary(options, io, format);
    const tty = process.stdout.isTTY && process.stdin.isTTY && process.env.TERM !== 'dumb';
    const presenter =
      args.json || args.plain || !tty
        ? intervalPresenter({
            stdout: process.stdout,
            stderr: process.stderr,
            intervalMs: intervalS * 1000,
            now: Date.now,
            format,
          })
        : await openDashboard({ color: useColor(process.stdout) });
    return watchRuns(options, presenter, io);
  },
});

import { CONCURRENCY_MAX, CONCURRENCY_MIN, execFlagArgs, intFlag, runsDir, UsageError, verboseFlag } from '@capi/core';
import type { Method } from '@capi/launch';
import { type ArgsDef, defineCommand } from 'citty';
import { controlCommand } from './control-command.js';
import { dryRunCommand } from './dry-run-command.js';
import { emitCommand, refuseEmitFlags } from './emit-command.js';
import { type LaunchArgs, launchCommand, stallFlag } from './launch-command.js';
import { remoteFlags } from './remote-flags.js';
import { varsColumnsFlag } from './run-options.js';

const args: ArgsDef = {
  target: {
    type: 'positional',
    valueHint: 'SUITE|RUN',
    required: false,
    description: 'SUITE.csv to launch, or RUN (id or folder) for --status/--stop/--resume/...',
  },
  dir: { type: 'positional', required: false, description: 'with --emit k8s: the folder the manifests go to' },
  parallel: { type: 'string', valueHint: 'N', alias: 'p', description: 'workers running batches at once (default 4)' },
  hosts: {
    type: 'string',
    valueHint: 'FILE|HOSTS',
    description:
      "run the batches on these machines over SSH with GNU parallel: [N/][user@]host[:port] or ssh-config names, a file (one a line) or a comma list; --parallel is each host's workers unless it gives N/",
  },
  'remote-capi': {
    type: 'string',
    valueHint: 'PATH',
    description: 'with --hosts: the capi-exec command on the hosts (default capi-exec on their PATH)',
  },
  'ssh-config': {
    type: 'string',
    valueHint: 'FILE',
    description: "with --hosts: ssh's configuration file (ssh -F), for GNU parallel's and capi's own connections",
  },
  'batch-size': {
    type: 'string',
    valueHint: 'N',
    description: 'tests per batch (default 100, doubling every 100 batches up to 1000; a given N stays N)',
  },
  'max-batch-size': {
    type: 'string',
    valueHint: 'N',
    description: 'batches double every 100 batches from --batch-size up to N tests (default 1000 without --batch-size)',
  },
  // not a citty alias: citty prints an alias as `-batch` in --help
  batch: { type: 'string', description: "the guide's spelling of --batch-size" },
  nohup: { type: 'boolean', description: 'detached background process, logs in logs/capi.log (default)' },
  screen: { type: 'boolean', description: 'a GNU screen session named after the run (screen -r RUN)' },
  tmux: {
    type: 'boolean',
    description: 'a tmux session named after the run: supervisor, a window per worker, capi-watch',
  },
  foreground: { type: 'boolean', description: 'supervise in this terminal until the run ends' },
  wait: {
    type: 'boolean',
    description:
      'after launching, wait for the end and exit with its code: 0 passed, 1 tests failed, 3 given up, 143 stopped',
  },
  monitor: {
    type: 'boolean',
    description: "after launching, run capi-watch on the run here, then exit with the run's code as --wait does",
  },
  'max-restarts': {
    type: 'string',
    valueHint: 'N',
    description: 'times a dying worker is replaced on one batch before the batch is given up (default 3)',
  },
  'stall-timeout': {
    type: 'string',
    valueHint: 'SECONDS',
    description:
      'seconds a worker may show no heartbeat or result before it is killed and its batch restarted (default max(60, 10 x --timeout); 0: never)',
  },
  'on-finish': {
    type: 'string',
    valueHint: 'COMMAND',
    description:
      'shell command run when the run ends; gets CAPI_RUN_DIR, CAPI_RUN_ID, CAPI_RUN_STATE, CAPI_VERDICT, CAPI_EXIT_CODE',
  },
  force: {
    type: 'boolean',
    description:
      'launch although a run of the same suite is live; with --stop: kill at once; with --resume: go on against another --base-url than the results so far',
  },
  lenient: {
    type: 'boolean',
    description:
      'capi-split: skip bad suite rows, each named on stderr and in logs/capi.log (default: refuse the first)',
  },
  'auto-id': {
    type: 'boolean',
    description: 'capi-split: a row without an id (no id column, or an empty cell) is named row-<line>',
  },
  'vars-columns': {
    type: 'string',
    description: 'capi-split: columns that are variables although no {{template}} uses them (a,b)',
  },
  'runs-dir': {
    type: 'string',
    valueHint: 'DIR',
    description: 'folder of run folders (default $CAPI_RUNS_DIR or ./capi-runs)',
  },
  status: { type: 'boolean', description: 'list runs, or show RUN' },
  json: { type: 'boolean', description: 'with --status: one JSON object per run on stdout' },
  stop: { type: 'boolean', description: 'stop RUN (default latest) gracefully; in-flight tests finish' },
  resume: { type: 'boolean', description: 'continue RUN (stopped, crashed, interrupted) in its folder' },
  'rerun-failed': { type: 'boolean', description: 'a new run of the tests of RUN that failed or errored' },
  pause: { type: 'boolean', description: 'RUN takes no new tests until --continue' },
  continue: { type: 'boolean', description: 'RUN takes tests again after --pause' },
  set: {
    type: 'string',
    valueHint: 'NAME=VALUE',
    description: 'change a running RUN: rate=50/s, rate=600/m, rate=none (or 0: no limit) or concurrency=N',
  },
  prune: { type: 'boolean', description: 'remove old finished runs, keeping --keep N (default 10)' },
  'dry-run': {
    type: 'boolean',
    description:
      'with SUITE: print what the launch would run (tests, batches, workers, rate, the commands), create and start nothing; with --prune: list the runs it would remove',
  },
  keep: { type: 'string', valueHint: 'N', description: 'with --prune: finished runs to keep' },
  // capi-exec's flags, passed to every worker (rate and concurrency through control.json): core exec-flags.ts
  ...execFlagArgs('capi-launch'),
  emit: {
    type: 'string',
    description: 'k8s: write a Kubernetes Indexed Job for SUITE into DIR instead of launching (docs/capi-launch.md)',
  },
  image: { type: 'string', description: "with --emit k8s: the pods' image, with sh and capi installed (required)" },
  shards: {
    type: 'string',
    valueHint: 'N',
    description: 'with --emit k8s: completions, one shard each (default 4); --parallel: pods at once',
  },
  pvc: {
    type: 'string',
    valueHint: 'NAME',
    description: 'with --emit k8s: PersistentVolumeClaim the journals go to (required)',
  },
  secret: {
    type: 'string',
    valueHint: 'NAME',
    description: "with --emit k8s: Secret whose keys are the pods' environment (repeatable)",
  },
  'suite-on-pvc': {
    type: 'boolean',
    description: 'with --emit k8s: the suite on the volume, not in a ConfigMap (over 1 MiB)',
  },
  'job-name': {
    type: 'string',
    valueHint: 'NAME',
    description: "with --emit k8s: the Job's name (default capi-SUITE)",
  },
  supervise: {
    type: 'string',
    valueHint: 'DIR',
    description: 'internal: supervise the run folder (started by capi-launch)',
  },
  echo: { type: 'boolean', description: 'internal: with --supervise, log on stderr too' },
  resumed: {
    type: 'boolean',
    description: 'internal: with --supervise, take the run with the changes of the --resume that started it',
  },
  verbose: verboseFlag,
};

function methodOf(a: Record<string, unknown>): Method | null {
  const chosen = (['nohup', 'screen', 'tmux', 'foreground'] as const).filter((m) => a[m] === true);
  if (chosen.length > 1) throw new UsageError(`choose one of --${chosen.join(', --')}`);
  return chosen[0] ?? null;
}

const ACTIONS = ['status', 'stop', 'resume', 'rerun-failed', 'pause', 'continue', 'set', 'prune', 'supervise'] as const;

/**
 * Batch sizes: by default batches of 100 that double every 100 batches up to 1,000, so a
 * small suite is shared by the workers and a large one is not tens of thousands of
 * batches; `--batch-size N` alone keeps every batch N (as asked), `--max-batch-size`
 * sets the growth.
 */
function batchSizesOf(a: Record<string, unknown>): { batchSize: number; maxBatchSize: number | null } {
  const size = intFlag('batch-size', a['batch-size'] as string | undefined, { min: 1 });
  const max = intFlag('max-batch-size', a['max-batch-size'] as string | undefined, { min: 1 });
  const batchSize = size ?? 100;
  const maxBatchSize = max ?? (size === undefined ? 1000 : null);
  if (maxBatchSize !== null && maxBatchSize < batchSize)
    throw new UsageError(`--max-batch-size ${maxBatchSize} is below --batch-size ${batchSize}`);
  return { batchSize, maxBatchSize };
}

export default defineCommand({
  meta: {
    name: 'capi-launch',
    version: '0.1.0',
    description:
      'Start a capi run in the background (nohup, screen, tmux), supervise its parallel workers, stop and resume it.\n\n' +
      'Examples:\n  capi-launch suite.csv --base-url http://localhost:8080 --parallel 4 --batch-size 100\n' +
      '  CAPI_BASE_URL=http://localhost:8080 capi-launch suite.csv --tmux --monitor\n' +
      '  capi-launch suite.csv --base-url http://localhost:8080 --wait --rate 50/s   # cron: exit code is the verdict\n' +
      '  capi-launch --status\n  capi-launch --stop\n  capi-launch --resume capi_test_20260101_103000\n' +
      '  capi-launch suite.csv --emit k8s k8s/ --image IMAGE --pvc NAME --shards 8   # Kubernetes Indexed Job',
  },
  args,
  async run({ args: a, rawArgs }) {
    if (a.batch !== undefined) {
      if (a['batch-size'] !== undefined)
        throw new UsageError('give --batch-size or --batch (the same option), not both');
      a['batch-size'] = a.batch;
    }
    if (a.emit !== undefined) {
      if (ACTIONS.some((k) => a[k] !== undefined && a[k] !== false))
        throw new UsageError('--emit launches nothing: no --status, --stop... with it');
      return emitCommand(a, rawArgs);
    }
    refuseEmitFlags(a);
    const actions = ACTIONS.filter((k) => a[k] !== undefined && a[k] !== false);
    if (actions.length > 1) throw new UsageError(`choose one of --${actions.join(', --')}`);
    const runs = a['runs-dir'] ? (a['runs-dir'] as string) : runsDir();
    const method = methodOf(a);
    const action = actions[0];
    if (a.keep !== undefined && action !== 'prune')
      throw new UsageError('--keep goes with --prune (capi-launch --prune --keep N)');
    // only --status prints JSON: a launch or another action given --json would print its text
    if (a.json === true && action !== 'status')
      throw new UsageError('--json goes with --status (capi-launch --status --json)');
    if (a['dry-run'] === true && action && action !== 'prune')
      throw new UsageError(`--dry-run goes with a launch or --prune, not --${action}`);
    const remoteFlag = (['hosts', 'remote-capi', 'ssh-config'] as const).find((f) => a[f] !== undefined);
    if (action && remoteFlag)
      throw new UsageError(
        `--${remoteFlag} goes with a launch: a run keeps the hosts it was launched with (--resume and --rerun-failed too)`,
      );
    if (action) return controlCommand(action, { a, runs, method, target: a.target as string | undefined, rawArgs });
    if (!a.target) throw new UsageError('name the suite to launch (capi-launch SUITE.csv)');
    const parallel = intFlag('parallel', a.parallel as string | undefined, { min: 1, max: 256 }) ?? 4;
    const launchArgs: LaunchArgs = {
      suite: a.target as string,
      runs,
      method: method ?? 'nohup',
      parallel,
      ...batchSizesOf(a),
      maxRestarts: intFlag('max-restarts', a['max-restarts'] as string | undefined, { min: 0 }) ?? 3,
      concurrency:
        intFlag('concurrency', a.concurrency as string | undefined, { min: CONCURRENCY_MIN, max: CONCURRENCY_MAX }) ??
        null,
      rate: (a.rate as string | undefined) ?? null,
      onFinish: (a['on-finish'] as string | undefined) ?? null,
      stallTimeoutS: stallFlag(a),
      force: a.force === true,
      lenient: a.lenient === true,
      autoId: a['auto-id'] === true,
      varsColumns: varsColumnsFlag(a),
      remote: remoteFlags(a, parallel),
      wait: a.wait === true,
      monitor: a.monitor === true,
      a,
      rawArgs,
    };
    if (a['dry-run'] === true) {
      if (launchArgs.remote) throw new UsageError('--dry-run does not plan a --hosts run (not done yet)');
      return dryRunCommand(launchArgs);
    }
    return launchCommand(launchArgs);
  },
});

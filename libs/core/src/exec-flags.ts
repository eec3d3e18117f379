import type { ArgsDef } from 'citty';

/**
 * capi-exec's flags that capi-launch takes too and hands to its workers: one definition of
 * each, with its help in both tools, so a flag added here is known to capi-exec's command
 * line, capi-launch's, and the list capi-launch passes on and a resume replaces
 * (libs/launch exec-flag-list.ts). capi-exec's other flags (`--journal`, `--status`, …)
 * are the worker contract capi-launch fills in itself.
 */
/**
 * capi-exec's `--concurrency` bounds. capi-launch checks its `--concurrency` and `--set
 * concurrency=` against the same ones: a value capi-exec refuses would reach the workers
 * only later (a launch's or a resume's `--concurrency` argument), where every batch would
 * be given up with exit 2.
 */
export const CONCURRENCY_MIN = 1;
export const CONCURRENCY_MAX = 10_000;

export interface ExecFlag {
  type: 'string' | 'boolean';
  valueHint?: string;
  alias?: string;
  /** capi-exec's --help. */
  help: string;
  /** capi-launch's --help, shown after `capi-exec: `. */
  launchHelp: string;
  /** Given as often as wanted; every value is passed on. */
  repeated?: true;
  /** capi-launch does not pass it on: it goes through control.json, shared by the workers and live. */
  live?: true;
}

/** In capi-exec's --help order (capi-launch lists them in the same order). */
export const EXEC_FLAGS = {
  'base-url': {
    type: 'string',
    valueHint: 'URL',
    help: 'Joined to relative test URLs (default: $CAPI_BASE_URL)',
    launchHelp: 'base URL for relative test URLs (default $CAPI_BASE_URL; a suite with one needs it)',
  },
  header: {
    type: 'string',
    valueHint: "'NAME: VALUE'",
    alias: 'H',
    repeated: true,
    help: "Repeatable 'Name: value' sent with every test ({{env.NAME}} allowed); a later one of the same name (any case) replaces an earlier one; a test's own headers win",
    launchHelp: "extra header 'Name: value' (repeatable), sent to the --base-url origin only",
  },
  'header-all-origins': {
    type: 'boolean',
    help: '--header values go to every origin, not only the --base-url one (a suite row may name another host)',
    launchHelp: 'send --header values to every origin',
  },
  'allow-env': {
    type: 'string',
    repeated: true,
    help: 'Env variables a suite may read with {{env.NAME}}, besides CAPI_*: NAME,NAME2,PREFIX_* (repeatable); their values are redacted',
    launchHelp: 'env variables the suite may read with {{env.NAME}} besides CAPI_* (NAME,PREFIX_*)',
  },
  var: {
    type: 'string',
    valueHint: 'NAME=VALUE',
    repeated: true,
    help: 'Repeatable NAME=value for {{var.NAME}} templates: plain values, not secrets, never redacted',
    launchHelp: 'a plain value for {{var.NAME}} templates, not secret (repeatable)',
  },
  vars: {
    type: 'string',
    valueHint: 'FILE',
    help: 'File of plain variables: a JSON object, or .env lines (NAME=value)',
    launchHelp: 'file of plain variables (JSON object or .env lines)',
  },
  concurrency: {
    type: 'string',
    valueHint: 'N',
    live: true,
    help: 'Tests in flight at once (default 16)',
    launchHelp: 'requests in flight per worker',
  },
  rate: {
    type: 'string',
    valueHint: 'RATE',
    live: true,
    help: 'Most tests started per second: 20/s, 600/m, 3600/h (smooth, no bursts)',
    launchHelp: 'total rate of the run, shared by the workers (20/s, 600/m)',
  },
  delay: {
    type: 'string',
    valueHint: 'MS',
    help: 'Pause in ms between tests on each lane (default 0)',
    launchHelp: 'pause in ms between requests of a lane',
  },
  timeout: {
    type: 'string',
    valueHint: 'MS',
    help: "Abort a request after this many ms (an error; default 30000); a test's timeout_ms wins",
    launchHelp: 'request timeout in ms',
  },
  insecure: {
    type: 'boolean',
    help: 'Accept self-signed or otherwise invalid TLS certificates',
    launchHelp: 'accept any TLS certificate',
  },
  'max-body': {
    type: 'string',
    valueHint: 'BYTES',
    help: 'Read at most this many bytes of a response (decoded when compressed); the rest is drained (default 1048576, at most 268435456)',
    launchHelp: 'largest response body read, in bytes',
  },
  'max-pause': {
    type: 'string',
    valueHint: 'SECONDS',
    help: 'Longest pause in seconds the API may ask for (Retry-After, rate-limit headers); a longer one ends the waiting tests as errors (default 300, at most 86400)',
    launchHelp: 'longest pause in s the API may ask for (default 300)',
  },
  compressed: {
    type: 'boolean',
    help: "Ask for compressed answers (Accept-Encoding: gzip, deflate, br); a test's own Accept-Encoding wins",
    launchHelp: 'ask for compressed answers',
  },
  retries: {
    type: 'string',
    valueHint: 'N',
    help: 'Retries of a test that got no usable answer (error), with backoff (default 2); a POST or PATCH only when it never reached the server',
    launchHelp: 'retries of errors',
  },
  'retry-unsafe': {
    type: 'boolean',
    help: 'Retry requests that are not idempotent (POST, PATCH) after any error too (they may run twice)',
    launchHelp: 'retry POST/PATCH after any error too',
  },
  'reauth-on': {
    type: 'string',
    valueHint: 'STATUSES',
    help: 'Statuses (e.g. 401,403) that make a process with setup rows log in again, once for all lanes, and send the test once more; none turns it off (default 401)',
    launchHelp: 'statuses that make a worker with setup rows log in again (default 401; none: off)',
  },
  'max-errors': {
    type: 'string',
    valueHint: 'N|P%',
    help: 'Stop early with exit 3 after more than N errors, or more than P% (e.g. 10%) after 20 tests',
    launchHelp: 'stop a batch after N (or P%) errors',
  },
  fsync: {
    type: 'boolean',
    help: 'fdatasync the journal after every write (survives power loss, slower)',
    launchHelp: 'fdatasync each journal write',
  },
  grace: {
    type: 'string',
    valueHint: 'MS',
    help: 'After SIGINT/SIGTERM, ms to let tests in flight finish before cutting them (default 10000)',
    launchHelp: 'ms in-flight tests may take after a stop',
  },
} as const satisfies Record<string, ExecFlag>;

export type ExecFlagName = keyof typeof EXEC_FLAGS;

/** The flags as citty arguments, with capi-exec's help or capi-launch's. */
export function execFlagArgs(tool: 'capi-exec' | 'capi-launch'): ArgsDef {
  const args: ArgsDef = {};
  for (const [name, f] of Object.entries(EXEC_FLAGS) as Array<[ExecFlagName, ExecFlag]>) {
    const description = tool === 'capi-exec' ? f.help : `capi-exec: ${f.launchHelp}`;
    args[name] = {
      type: f.type,
      description,
      ...(f.valueHint && { valueHint: f.valueHint }),
      ...(f.alias && { alias: f.alias }),
    };
  }
  return args;
}

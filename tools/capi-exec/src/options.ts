import { createReadStream, readFileSync, statSync } from 'node:fs';
import {
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  checkArgv,
  type EnvAllow,
  envNamesIn,
  InputError,
  intFlag,
  parseAllowEnv,
  parseRate,
  parseReauthOn,
  repeatedFlag,
  shardFlag,
  UsageError,
} from '@capi/core';
import {
  addCredentialHeaders,
  BadUrl,
  type BaseUrl,
  createSecretSet,
  DEFAULT_MAX_PAUSE_MS,
  type ExecuteOptions,
  MAX_BODY_LIMIT,
  MAX_PAUSE_LIMIT_MS,
  MAX_TIMER_MS,
  parseBaseUrl,
  parseMaxErrors,
  parseTrace,
  parseVarFlags,
  parseVarsText,
} from '@capi/exec';

/** The flags as citty gives them: strings and booleans. */
export type Args = Record<string, string | boolean | undefined | string[]>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `--header` values. Header names are case-insensitive, so a later --header replaces an
 * earlier one of the same name whatever its case (`-H 'X-A: 1' -H 'x-a: 2'` sends
 * `x-a: 2` only): a command line can override a default given before it.
 */
export function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of values) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new UsageError(`--header takes 'Name: value' (got "${h.slice(0, 40)}")`);
    const name = h.slice(0, colon).trim();
    if (!TOKEN.test(name)) throw new UsageError(`--header: "${name.slice(0, 40)}" is not a header name`);
    const lower = name.toLowerCase();
    for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) delete headers[k];
    headers[name] = h.slice(colon + 1).trim();
  }
  return headers;
}

function input(path: string | undefined, stdinIsTTY: boolean): Pick<ExecuteOptions, 'input' | 'source' | 'reread'> {
  if (path === undefined && stdinIsTTY)
    // Waiting silently for a terminal to type NDJSON helps no one.
    throw new UsageError('no input: pipe test records in or give --in FILE');
  if (path === undefined || path === '-') return { input: process.stdin, source: '<stdin>', reread: null };
  try {
    if (!statSync(path).isFile()) throw new InputError(path, undefined, 'not a file');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(path, undefined, 'cannot read: no such file');
  }
  return { input: createReadStream(path), source: path, reread: () => createReadStream(path) };
}

/** `--vars FILE` then `--var name=value` (a later one wins): plain values for templates. */
export function runVarsOf(file: string | undefined, flags: string[]): Record<string, string> {
  let vars: Record<string, string> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new InputError(file, undefined, `cannot read --vars: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    try {
      vars = parseVarsText(text);
    } catch (err) {
      throw new InputError(file, undefined, (err as Error).message);
    }
  }
  try {
    return parseVarFlags(flags, vars);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--host NAME`: printable, one line, at most 255 characters (it lands in every result and report). */
function hostFlag(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (value.length > 255 || !/^[\x21-\x7e]+$/.test(value))
    throw new UsageError('--host: a name of 1 to 255 printable characters without spaces');
  return value;
}

function allowEnvOf(rawArgs: string[]): EnvAllow {
  const allow = parseAllowEnv(repeatedFlag(rawArgs, 'allow-env'));
  if (typeof allow === 'string') throw new UsageError(allow);
  return allow;
}

/**
 * `--header` values go to the base URL's origin only, so without a base URL they would go
 * nowhere: refused, as is an `{{env.NAME}}` in one that the environment does not hold
 * (it would error every test).
 */
function checkHeaders(
  headers: Record<string, string>,
  base: BaseUrl | null,
  allOrigins: boolean,
  env: NodeJS.ProcessEnv,
) {
  const names = Object.keys(headers);
  if (names.length > 0 && !base && !allOrigins)
    throw new UsageError(
      '--header values are sent to the --base-url origin only: give --base-url (or CAPI_BASE_URL), or --header-all-origins to send them to every origin',
    );
  for (const name of names)
    for (const v of envNamesIn(headers[name] as string))
      if (env[v] === undefined) throw new UsageError(`--header "${name}": {{env.${v}}} is not set in the environment`);
}

/** `--max-body`: bounded so that the kept body always fits in one string (the checks read it as text). */
function maxBody(text: string | undefined): number {
  const n = intFlag('max-body', text, { min: 0 }) ?? 1024 * 1024;
  if (n > MAX_BODY_LIMIT)
    throw new UsageError(
      `--max-body takes at most ${MAX_BODY_LIMIT} bytes (256 MiB), the most a check can read as text (got "${text}")`,
    );
  return n;
}

/** `--trace` values, the stories written to stderr (never stdout: that is the results). */
function traceOption(values: string[]): ExecuteOptions['trace'] {
  for (const v of values) if (v === '' || v === 'tag:') throw new UsageError('--trace takes an id, tag:NAME or failed');
  const selector = parseTrace(values);
  return selector ? { selector, write: (text) => process.stderr.write(text) } : null;
}

/** Maps the command line to the options of `execute` (everything but the output and the stop signal). */
export function toOptions(
  args: Args,
  rawArgs: string[],
  env: NodeJS.ProcessEnv,
  stdinIsTTY = process.stdin.isTTY === true,
): Omit<ExecuteOptions, 'log'> {
  const baseText = str(args['base-url']) ?? env.CAPI_BASE_URL;
  let base = null;
  if (baseText) {
    try {
      base = parseBaseUrl(baseText);
    } catch (err) {
      if (err instanceof BadUrl) throw new UsageError(`--base-url: ${err.message}`);
      throw err;
    }
  }
  const headers = parseHeaders(repeatedFlag(rawArgs, 'header', 'H'));
  const headerAllOrigins = args['header-all-origins'] === true;
  checkHeaders(headers, base, headerAllOrigins, env);
  const secrets = createSecretSet();
  addCredentialHeaders(secrets, headers);
  const rate = str(args.rate) ? parseRate(str(args.rate) as string) : null;
  const worker = intFlag('worker', str(args.worker));
  const concurrency =
    intFlag('concurrency', str(args.concurrency), { min: CONCURRENCY_MIN, max: CONCURRENCY_MAX }) ?? 16;
  return {
    ...input(str(args.in), stdinIsTTY),
    base,
    headers,
    headerAllOrigins,
    secrets,
    env,
    allowEnv: allowEnvOf(rawArgs),
    runVars: runVarsOf(str(args.vars), repeatedFlag(rawArgs, 'var')),
    retryUnsafe: args['retry-unsafe'] === true,
    reauthOn: parseReauthOn(str(args['reauth-on']) ?? '401'),
    concurrency,
    rate,
    delayMs: intFlag('delay', str(args.delay), { max: MAX_TIMER_MS }) ?? 0,
    timeoutMs: intFlag('timeout', str(args.timeout), { min: 1, max: MAX_TIMER_MS }) ?? 30_000,
    maxBody: maxBody(str(args['max-body'])),
    maxPauseMs:
      (intFlag('max-pause', str(args['max-pause']), { max: MAX_PAUSE_LIMIT_MS / 1000 }) ??
        DEFAULT_MAX_PAUSE_MS / 1000) * 1000,
    compressed: args.compressed === true,
    insecure: args.insecure === true,
    retries: intFlag('retries', str(args.retries), { max: 100 }) ?? 2,
    maxErrors: str(args['max-errors']) ? parseMaxErrors(str(args['max-errors']) as string) : null,
    graceMs: intFlag('grace', str(args.grace), { max: MAX_TIMER_MS }) ?? 10_000,
    batch: str(args.batch) ?? null,
    worker: worker ?? null,
    runId: str(args['run-id']) ?? null,
    host: hostFlag(str(args.host)),
    shard: str(args.shard) ? shardFlag(str(args.shard) as string, env) : null,
    journal: str(args.journal) ?? null,
    fsync: args.fsync === true,
    force: args.force === true,
    status: str(args.status) ?? null,
    control: str(args.control) ?? null,
    total: intFlag('total', str(args.total)) ?? null,
    trace: traceOption(repeatedFlag(rawArgs, 'trace')),
  };
}

/**
 * `capi-exec tests.ndjson`: the input is a flag, not an argument. When the one argument
 * nobody reads is an existing file, the usage error says so; null otherwise.
 */
export function misplacedInput(argv: string[], args: Parameters<typeof checkArgv>[1]): string | null {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--version')) return null;
  try {
    checkArgv(argv, args);
    return null;
  } catch (err) {
    const m = err instanceof UsageError ? /^unexpected argument '(.*)'$/.exec(err.message) : null;
    if (!m) return null;
    const path = m[1] as string;
    try {
      if (!statSync(path).isFile()) return null;
    } catch {
      return null;
    }
    return `${err instanceof Error ? err.message : ''} (did you mean --in ${path}?)`;
  }
}

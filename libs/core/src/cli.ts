import { type ArgsDef, type CommandDef, renderUsage, runCommand } from 'citty';
import { CapiError, fsReason, isErrnoException, UsageError, writeError } from './errors.js';
import { ExitCode } from './exit-code.js';
import { useColor } from './term.js';

/**
 * The one runner every capi tool goes through. citty alone prints usage to stdout on
 * errors, exits 1 for everything and accepts unknown flags; here usage errors go to
 * stderr with exit 2, unknown flags are refused, and expected errors are one line
 * (docs/cli.md).
 */

export interface ToolInfo {
  name: string;
  version: string;
  /** The last positional takes any number of values (capi-merge's inputs). */
  variadic?: boolean;
}

type AnyCommand = CommandDef<ArgsDef>;

function knownFlags(args: ArgsDef): Map<string, string> {
  const known = new Map<string, string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    known.set(name, def.type ?? 'string');
    if (def.type === 'boolean') known.set(`no-${name}`, 'boolean');
    const aliases = 'alias' in def && def.alias ? ([] as string[]).concat(def.alias) : [];
    for (const a of aliases) known.set(a, def.type ?? 'string');
  }
  return known;
}

/**
 * Refuses unknown flags, missing values, enum values out of range and arguments nobody
 * reads (`capi-split a.csv b.csv` would otherwise ignore b.csv), before citty sees them.
 */
export function checkArgv(argv: string[], args: ArgsDef, variadic = false): void {
  const known = knownFlags(args);
  const slots = Object.values(args).filter((d) => d.type === 'positional').length;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-' || /^-\d/.test(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.replace(/^--?/, '').slice(0, eq === -1 ? undefined : eq - (token.startsWith('--') ? 2 : 1));
    const type = known.get(name);
    if (!type) throw new UsageError(`unknown option '${token.slice(0, eq === -1 ? undefined : eq)}'`);
    if (type === 'boolean' || eq !== -1) {
      checkEnum(args, name, eq === -1 ? undefined : token.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) throw new UsageError(`option '--${name}' needs a value`);
    checkEnum(args, name, next);
    i++;
  }
  if (!variadic && positionals.length > slots) {
    const extra = positionals[slots] as string;
    throw new UsageError(
      slots === 0 ? `unexpected argument '${extra}'` : `one input only: unexpected argument '${extra}'`,
    );
  }
}

function checkEnum(args: ArgsDef, name: string, value: string | undefined): void {
  const def = args[name];
  if (value === undefined || !def || def.type !== 'enum' || !def.options) return;
  if (!def.options.includes(value))
    throw new UsageError(`option '--${name}' takes one of ${def.options.join(', ')} (got "${value}")`);
}

/** Every value of a repeatable flag (`--header a --header b`): citty keeps only the last. */
export function repeatedFlag(argv: string[], name: string, alias?: string): string[] {
  const values: string[] = [];
  const names = [`--${name}`, ...(alias ? [`-${alias}`] : [])];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') break;
    const match = names.find((n) => token === n || token.startsWith(`${n}=`));
    if (!match) continue;
    if (token.length > match.length) values.push(token.slice(match.length + 1));
    else if (i + 1 < argv.length) values.push(argv[++i] as string);
  }
  return values;
}

/** citty colours its usage even into a pipe or a file. */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** citty puts `(name vX)` after the description, which here ends with examples. */
async function withoutVersion(cmd: AnyCommand): Promise<AnyCommand> {
  const meta = typeof cmd.meta === 'function' ? await cmd.meta() : await cmd.meta;
  return { ...cmd, meta: { ...meta, version: undefined } };
}

function beforeDashes(argv: string[]): string[] {
  const i = argv.indexOf('--');
  return i === -1 ? argv : argv.slice(0, i);
}

function report(tool: ToolInfo, err: unknown, verbose: boolean): number {
  if (err instanceof CapiError) {
    process.stderr.write(`${tool.name}: ${err.message}\n`);
    if (err instanceof UsageError) process.stderr.write(`Try '${tool.name} --help' for more information.\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (isErrnoException(err) && err.syscall && err.path) {
    // disk trouble (a folder that is a file, no permission, disk full) is not a bug: one line
    process.stderr.write(`${tool.name}: cannot ${err.syscall} ${err.path}: ${fsReason(err.code)}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return ExitCode.cannotRun;
  }
  if (err instanceof Error && err.name === 'CLIError') {
    process.stderr.write(`${tool.name}: ${err.message}\nTry '${tool.name} --help' for more information.\n`);
    return ExitCode.badInput;
  }
  process.stderr.write(
    `${tool.name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return ExitCode.cannotRun;
}

/**
 * A closed downstream pipe (`| head`) is a normal end, not an error. Any other failure
 * of stdout (a full disk, a file too large) means the data did not arrive: one line and
 * exit 3 at once, never a stack trace and exit 1, which would read as "tests failed".
 */
function guardStdout(tool: ToolInfo): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`${tool.name}: ${writeError('stdout', err).message}\n`);
    process.exit(ExitCode.cannotRun);
  });
  // Messages for people that cannot be shown (the terminal closed: EIO) are not a reason
  // to die in the middle of a graceful stop.
  process.stderr.on('error', () => {});
}

/**
 * Runs a citty command whose `run` returns an exit code. Sets `process.exitCode` and
 * returns it; never calls process.exit, so stdout drains first.
 */
export async function runTool(cmd: AnyCommand, tool: ToolInfo, argv = process.argv.slice(2)): Promise<number> {
  guardStdout(tool);
  const head = beforeDashes(argv);
  const verbose = head.includes('--verbose');
  let code: number;
  try {
    if (head.includes('--help') || head.includes('-h')) {
      const usage = await renderUsage(await withoutVersion(cmd));
      // citty still ends the description (here: the examples) with ` (name)`.
      const text = `${tool.name} ${tool.version}\n\n${usage.replace(` (${tool.name})`, '')}`;
      process.stdout.write(`${useColor(process.stdout) ? text : stripAnsi(text)}\n`);
      code = ExitCode.ok;
    } else if (head.includes('--version')) {
      process.stdout.write(`${tool.name} ${tool.version}\n`);
      code = ExitCode.ok;
    } else {
      const args = (typeof cmd.args === 'function' ? await cmd.args() : await cmd.args) ?? {};
      checkArgv(argv, args, tool.variadic);
      const { result } = await runCommand(cmd, { rawArgs: argv });
      code = typeof result === 'number' ? result : ExitCode.ok;
    }
  } catch (err) {
    code = report(tool, err, verbose);
  }
  process.exitCode = code;
  return code;
}

/** Parses a whole-number flag value, with the flag named in the error. */
export function intFlag(
  name: string,
  value: string | undefined,
  opts: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  const min = opts.min ?? 0;
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || (opts.max !== undefined && n > opts.max))
    throw new UsageError(
      `--${name} takes a whole number${opts.max !== undefined ? ` from ${min} to ${opts.max}` : ` >= ${min}`} (got "${value}")`,
    );
  return n;
}

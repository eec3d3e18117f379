import { type ArgsDef, type CommandDef, runCommand } from 'citty';
import { beforeDashes, builtinAction } from './builtin-action.js';
import { renderCompletion, SHELLS, type Shell } from './completion.js';
import { nearest } from './edit-distance.js';
import { CapiError, fsReason, isErrnoException, UsageError, writeError } from './errors.js';
import { ExitCode } from './exit-code.js';
import { isInternal, toolDoc } from './flag-docs.js';
import { renderHelp } from './help.js';
import { renderManPage } from './man-page.js';

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

export type AnyCommand = CommandDef<ArgsDef>;
/** A command, or a function that imports it: --version then loads nothing else. */
export type CommandSource = AnyCommand | (() => Promise<AnyCommand>);

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
    if (!type) throw new UsageError(unknownOption(token.slice(0, eq === -1 ? undefined : eq), args));
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

/** `unknown option '--paralel' (did you mean --parallel?)`: the nearest flag a person may use. */
function unknownOption(token: string, args: ArgsDef): string {
  const names = new Map<string, string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional' || isInternal(def)) continue;
    names.set(name, `--${name}`);
    if (def.type === 'boolean') names.set(`no-${name}`, `--no-${name}`);
    const aliases = 'alias' in def && def.alias ? ([] as string[]).concat(def.alias) : [];
    for (const a of aliases) names.set(a, a.length === 1 ? `-${a}` : `--${a}`);
  }
  for (const b of ['help', 'version', 'completion', 'man']) names.set(b, `--${b}`);
  const typed = token.replace(/^--?/, '');
  // a one-letter flag is a guess too far; `-parallel` for `--parallel` is not
  const hit =
    typed.length > 1
      ? nearest(
          typed,
          [...names.keys()].filter((n) => n.length > 1),
        )
      : null;
  return `unknown option '${token}'${hit ? ` (did you mean ${names.get(hit)}?)` : ''}`;
}

function checkEnum(args: ArgsDef, name: string, value: string | undefined): void {
  const def = args[name];
  if (value === undefined || !def || def.type !== 'enum' || !def.options) return;
  if (!def.options.includes(value))
    throw new UsageError(`option '--${name}' takes one of ${def.options.join(', ')} (got "${value}")`);
}

/** `--verbose`, which `runTool` reads itself (a stack trace with an error), defined once for every tool. */
export const verboseFlag = { type: 'boolean', description: 'stack traces on unexpected errors' } as const;

/** `--quiet` of the tools that end with a summary on stderr (capi-exec, capi-merge): one meaning, one definition. */
export const quietFlag = { type: 'boolean', description: 'no summary lines on stderr' } as const;

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

async function docOf(cmd: AnyCommand, tool: ToolInfo) {
  const meta = (typeof cmd.meta === 'function' ? await cmd.meta() : await cmd.meta) ?? {};
  const args = (typeof cmd.args === 'function' ? await cmd.args() : await cmd.args) ?? {};
  return { doc: toolDoc(tool, meta.description ?? '', args), args };
}

/** `--completion bash` or `--completion=zsh`. */
function completionShell(argv: string[]): Shell {
  const i = argv.findIndex((a) => a === '--completion' || a.startsWith('--completion='));
  const token = argv[i] as string;
  const value = token.includes('=') ? token.slice(token.indexOf('=') + 1) : argv[i + 1];
  if (!SHELLS.includes(value as Shell))
    throw new UsageError(`--completion takes one of ${SHELLS.join(', ')}${value ? ` (got "${value}")` : ''}`);
  return value as Shell;
}

async function answer(action: 'help' | 'completion' | 'man', cmd: AnyCommand, tool: ToolInfo, head: string[]) {
  const { doc } = await docOf(cmd, tool);
  if (action === 'help') return renderHelp(doc);
  if (action === 'man') return renderManPage(doc);
  return renderCompletion(completionShell(head), doc);
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
export async function runTool(source: CommandSource, tool: ToolInfo, argv = process.argv.slice(2)): Promise<number> {
  guardStdout(tool);
  const head = beforeDashes(argv);
  const verbose = head.includes('--verbose');
  let code: number;
  try {
    const action = builtinAction(head);
    if (action === 'version') {
      process.stdout.write(`${tool.name} ${tool.version}\n`);
      code = ExitCode.ok;
    } else if (action) {
      process.stdout.write(await answer(action, typeof source === 'function' ? await source() : source, tool, head));
      code = ExitCode.ok;
    } else {
      const cmd = typeof source === 'function' ? await source() : source;
      const { args } = await docOf(cmd, tool);
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

import type { ArgDef, ArgsDef } from 'citty';

/**
 * What --help, the man page and the shell completions say about a tool, read from its citty
 * definition, so that the three never disagree and a flag added to a command.ts shows up in
 * all of them (docs/cli.md, "Help, completion and man pages").
 */

export interface ToolDoc {
  name: string;
  version: string;
  /** The first paragraph(s) of the command's description, before its `Examples:` block. */
  summary: string;
  /** Example command lines, without their indent. */
  examples: string[];
  flags: FlagDoc[];
  positionals: PositionalDoc[];
}

export interface FlagDoc {
  /** Long name without dashes. */
  name: string;
  /** One-letter aliases without the dash. */
  short: string[];
  /** Longer aliases without the dashes (`--batch` for `--batch-size`). */
  long?: string[];
  /** The value's placeholder (`N`, `FILE`); null for a switch. */
  hint: string | null;
  description: string;
  /** An enum's values, or the shells of --completion. */
  choices: string[];
}

export interface PositionalDoc {
  hint: string;
  description: string;
  variadic: boolean;
}

/**
 * Flags that capi's own processes pass each other (`--supervise`, `--echo`) describe
 * themselves as `internal: …`; they are accepted but shown nowhere.
 */
export function isInternal(def: ArgDef): boolean {
  return /^internal\b/i.test(def.description ?? '');
}

/** The flags runTool answers itself, before the command sees its arguments. */
export const BUILTIN_FLAGS: FlagDoc[] = [
  { name: 'help', short: ['h'], hint: null, description: 'show this help and exit', choices: [] },
  { name: 'version', short: [], hint: null, description: 'print the name and version and exit', choices: [] },
  {
    name: 'completion',
    short: [],
    hint: 'SHELL',
    description: 'print the completion script for SHELL (bash, zsh) and exit',
    choices: ['bash', 'zsh'],
  },
  { name: 'man', short: [], hint: null, description: 'print the man page (roff) and exit', choices: [] },
];

/** `--max-body` → `MAX_BODY` when the definition gives no valueHint. */
const defaultHint = (name: string) => name.toUpperCase().replaceAll('-', '_');

function flagDoc(name: string, def: ArgDef): FlagDoc {
  const aliases = 'alias' in def && def.alias ? ([] as string[]).concat(def.alias) : [];
  const choices = def.type === 'enum' && def.options ? def.options : [];
  return {
    name,
    short: aliases.filter((a) => a.length === 1),
    long: aliases.filter((a) => a.length > 1),
    hint: def.type === 'boolean' ? null : (def.valueHint ?? defaultHint(name)),
    description: (def.description ?? '').replace(/\s+/g, ' ').trim(),
    choices,
  };
}

export function toolDoc(
  tool: { name: string; version: string; variadic?: boolean },
  description: string,
  args: ArgsDef,
): ToolDoc {
  const [summary = '', examples = ''] = description.split(/\n\s*\nExamples:\s*\n/);
  const flags: FlagDoc[] = [];
  const positionals: PositionalDoc[] = [];
  for (const [name, def] of Object.entries(args)) {
    if (isInternal(def)) continue;
    if (def.type === 'positional')
      positionals.push({
        hint: def.valueHint ?? defaultHint(name),
        description: (def.description ?? '').replace(/\s+/g, ' ').trim(),
        variadic: false,
      });
    else flags.push(flagDoc(name, def));
  }
  const last = positionals.at(-1);
  if (last && tool.variadic) last.variadic = true;
  return {
    name: tool.name,
    version: tool.version,
    summary: summary.trim(),
    examples: examples
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
    flags: [...flags, ...BUILTIN_FLAGS],
    positionals,
  };
}

/** `capi-launch [OPTIONS] [TARGET]`, `capi-merge [OPTIONS] [INPUTS...]`. */
export function synopsis(doc: ToolDoc): string {
  const pos = doc.positionals.map((p) => `[${p.hint}${p.variadic ? '...' : ''}]`);
  return [doc.name, '[OPTIONS]', ...pos].join(' ');
}

/** Every spelling of a flag: `-H`, `--header` and any longer alias. */
export function flagSpellings(f: FlagDoc): string[] {
  return [...f.short.map((s) => `-${s}`), ...[f.name, ...(f.long ?? [])].map((n) => `--${n}`)];
}

/** `-H, --header 'NAME: VALUE'` or `    --in FILE`: the left column of --help. */
export function flagLabel(f: FlagDoc): string {
  const short = f.short.length > 0 ? `${f.short.map((s) => `-${s}`).join(', ')}, ` : '    ';
  const long = [f.name, ...(f.long ?? [])].map((n) => `--${n}`).join(', ');
  return `${short}${long}${f.hint ? ` ${f.hint}` : ''}`;
}

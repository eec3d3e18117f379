import { flagLabel, synopsis, type ToolDoc } from './flag-docs.js';

/**
 * --help as plain text no wider than 100 columns (docs/cli.md): usage, summary, options in
 * two columns, examples. citty's own usage ran to 205 columns with trailing padding.
 */
export const HELP_WIDTH = 100;
const LABEL_WIDTH = 28;
const INDENT = 2;

/** Words of `text` in lines of at most `width` columns (a longer word stands alone). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Offsets of the spaces in a shell command line that are outside quotes, up to a comment. */
function breakPoints(cmd: string): { spaces: number[]; comment: number | null } {
  const spaces: number[] = [];
  let quote: string | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || cmd[i - 1] === ' ')) return { spaces, comment: i };
    else if (c === ' ') spaces.push(i);
  }
  return { spaces, comment: null };
}

/**
 * A command line longer than `width`, cut at unquoted spaces into lines ending in ` \`
 * (continuation lines indented 4 more), so that it still pastes into a shell as one command.
 */
export function wrapCommand(cmd: string, width: number): string[] {
  const { comment } = breakPoints(cmd);
  if (comment !== null && comment > 0 && cmd.length > width)
    // a ` \` inside a comment continues nothing: the comment goes on a line of its own, first
    return [cmd.slice(comment), ...wrapCommand(cmd.slice(0, comment).trimEnd(), width)];
  const lines: string[] = [];
  let rest = cmd;
  let room = width;
  while (rest.length > room) {
    const cut = breakPoints(rest)
      .spaces.filter((p) => p > 0 && p + 2 <= room)
      .pop();
    if (cut === undefined) break;
    lines.push(`${rest.slice(0, cut)} \\`);
    rest = rest.slice(cut + 1).trimStart();
    room = width - 4;
  }
  lines.push(rest);
  return lines.map((l, i) => (i === 0 ? l : `    ${l}`));
}

function twoColumns(label: string, text: string, width: number): string[] {
  const pad = ' '.repeat(INDENT);
  const body = wrapWords(text, width - INDENT - LABEL_WIDTH);
  const descPad = ' '.repeat(INDENT + LABEL_WIDTH);
  if (label.length > LABEL_WIDTH - 2) return [`${pad}${label}`, ...body.map((l) => `${descPad}${l}`)];
  const [first = '', ...more] = body;
  return [`${pad}${label.padEnd(LABEL_WIDTH)}${first}`.trimEnd(), ...more.map((l) => `${descPad}${l}`)];
}

export function renderHelp(doc: ToolDoc, width = HELP_WIDTH): string {
  const out: string[] = [`${doc.name} ${doc.version}`, ''];
  for (const para of doc.summary.split(/\n\s*\n/)) out.push(...wrapWords(para, width), '');
  out.push(`Usage: ${synopsis(doc)}`, '');
  if (doc.positionals.length > 0) {
    out.push('Arguments:');
    for (const p of doc.positionals) out.push(...twoColumns(p.hint, p.description, width));
    out.push('');
  }
  out.push('Options:');
  for (const f of doc.flags) {
    const choices = f.choices.length > 0 && !f.description.includes(f.choices.join(', '));
    out.push(...twoColumns(flagLabel(f), `${f.description}${choices ? ` (${f.choices.join(', ')})` : ''}`, width));
  }
  if (doc.examples.length > 0) {
    out.push('', 'Examples:');
    for (const e of doc.examples) out.push(...wrapCommand(e, width - INDENT).map((l) => `${' '.repeat(INDENT)}${l}`));
  }
  return `${out.join('\n')}\n`;
}

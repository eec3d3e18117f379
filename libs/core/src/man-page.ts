import { type FlagDoc, flagSpellings, synopsis, type ToolDoc } from './flag-docs.js';

/**
 * The man page of a tool (`capi-x --man`, and man/capi-x.1 in the package), in the man(7)
 * macros, from the same ToolDoc as --help.
 */

const TOOLS = ['capi-split', 'capi-exec', 'capi-launch', 'capi-watch', 'capi-merge'];

/**
 * Text safe in roff: backslashes as \e, dashes as \-, a leading . or ' neutralized, and
 * anything past ASCII as \[uXXXX] (groff reads bytes; only man-db's preconv knows UTF-8).
 */
export function roffText(text: string): string {
  const escaped = text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(
      /[\u0080-\u{10ffff}]/gu,
      (c) => `\\[u${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}]`,
    );
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function flagHead(f: FlagDoc): string {
  const names = flagSpellings(f)
    .map((n) => `\\fB${roffText(n)}\\fR`)
    .join(', ');
  return f.hint ? `${names} \\fI${roffText(f.hint)}\\fR` : names;
}

export function renderManPage(doc: ToolDoc): string {
  const [first = '', ...rest] = doc.summary.split(/\n\s*\n/);
  const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
  const out = [
    `.TH ${doc.name.toUpperCase()} 1 "" "capi ${doc.version}" "capi manual"`,
    '.SH NAME',
    `${doc.name} \\- ${roffText(oneLine(first).replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
    `.B ${doc.name}`,
    roffText(synopsis(doc).slice(doc.name.length + 1)),
    '.SH DESCRIPTION',
    roffText(oneLine(first)),
  ];
  for (const para of rest) out.push('.PP', roffText(oneLine(para)));
  if (doc.positionals.length > 0) {
    out.push('.SH ARGUMENTS');
    for (const p of doc.positionals) out.push('.TP', `\\fI${roffText(p.hint)}\\fR`, roffText(p.description));
  }
  out.push('.SH OPTIONS');
  for (const f of doc.flags) {
    const choices = f.choices.length > 0 ? ` (${f.choices.join(', ')})` : '';
    out.push('.TP', flagHead(f), roffText(`${f.description}${choices}`));
  }
  if (doc.examples.length > 0) {
    out.push('.SH EXAMPLES', '.nf', '.RS 4');
    for (const e of doc.examples) out.push(roffText(e));
    out.push('.RE', '.fi');
  }
  out.push(
    '.SH EXIT STATUS',
    '0 passed; 1 tests failed; 2 bad usage or input; 3 could not run; 130 stopped by SIGINT; 143 stopped by SIGTERM.',
    '.SH ENVIRONMENT',
    '.TP',
    '.B NO_COLOR',
    'set and not empty: no colour on a terminal either.',
    '.SH SEE ALSO',
    `${TOOLS.filter((t) => t !== doc.name)
      .map((t) => `.BR ${t} (1)`)
      .join(',\n')}`,
    '',
  );
  return out.join('\n');
}

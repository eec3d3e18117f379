/** Quotes one word for a POSIX shell, so that a command printed for a person to paste means what it says. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line for a person to paste: every word quoted as needed. */
export const shellLine = (words: string[]) => words.map(shellQuote).join(' ');

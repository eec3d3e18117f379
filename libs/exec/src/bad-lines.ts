import { appendFile, readFile } from 'node:fs/promises';
import { FILE_MODE, writeFileAtomic } from '@capi/core';

/**
 * A corrupt line in the middle of a journal (a disk error, a hand edit, a foreign write)
 * must not block a resume for good, nor vanish: a resume moves such lines, as they were,
 * to `<journal>.bad` beside it (appended, owner-only) and says how many; the tests they
 * held have no result any more and run again. docs/run-folder.md, "The journal".
 */
export const badLinesPath = (journal: string) => `${journal}.bad`;

/** Moves the physical lines `bad` (1-based) of `journal` to its `.bad` file; the rest is kept byte for byte. */
export async function setAsideBadLines(journal: string, bad: ReadonlySet<number>): Promise<void> {
  if (bad.size === 0) return;
  const parts = (await readFile(journal, 'utf8')).split('\n');
  const kept: string[] = [];
  const moved: string[] = [];
  // the last part is what follows the last newline (a torn tail, or ''): never a bad line
  parts.forEach((text, i) => {
    if (i < parts.length - 1 && bad.has(i + 1)) moved.push(`${text}\n`);
    else kept.push(text);
  });
  // set aside first: a crash between the two writes leaves a line in both, never in neither
  await appendFile(badLinesPath(journal), moved.join(''), { mode: FILE_MODE });
  await writeFileAtomic(journal, kept.join('\n'));
}

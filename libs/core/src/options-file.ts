import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/**
 * `--options-file FILE`: more flags, read from a file instead of the command line. What is
 * on a command line (`--header 'Authorization: …'`) is readable by every local user in
 * `ps` for as long as the process runs; capi-launch therefore hands its workers their
 * capi-exec flags in an owner-only file (docs/run-folder.md, `exec-options.json`). The
 * file is a JSON array of argv words, spliced in where the flag stood (before any `--`).
 */
export const OPTIONS_FILE_FLAG = '--options-file';

function readWords(file: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`${OPTIONS_FILE_FLAG} ${file}: ${why}`);
  }
  if (!Array.isArray(value) || !value.every((w) => typeof w === 'string'))
    throw new UsageError(`${OPTIONS_FILE_FLAG} ${file}: not a JSON array of strings (argv words)`);
  if (value.some((w) => w === OPTIONS_FILE_FLAG || w.startsWith(`${OPTIONS_FILE_FLAG}=`)))
    throw new UsageError(`${OPTIONS_FILE_FLAG} ${file}: may not name another ${OPTIONS_FILE_FLAG}`);
  return value;
}

/** argv with each `--options-file FILE` replaced by the words the file holds. */
export function expandOptionsFile(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') return [...out, ...argv.slice(i)];
    if (word === OPTIONS_FILE_FLAG) {
      const file = argv[++i];
      if (file === undefined) throw new UsageError(`${OPTIONS_FILE_FLAG} needs a file`);
      out.push(...readWords(file));
    } else if (word.startsWith(`${OPTIONS_FILE_FLAG}=`))
      out.push(...readWords(word.slice(OPTIONS_FILE_FLAG.length + 1)));
    else out.push(word);
  }
  return out;
}

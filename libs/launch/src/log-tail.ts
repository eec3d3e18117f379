import { open } from 'node:fs/promises';
import { plainLine } from '@capi/core';

/**
 * The last meaningful line of a log (the last 16 KiB are read): not blank, not a stack
 * frame, matching `match` and not `skip` when given. What a person needs to know why something
 * ended, quoted rather than guessed. Null when there is none (or no file).
 */
export async function lastLogLine(file: string, match?: RegExp, skip?: RegExp): Promise<string | null> {
  return (await lastLogLines(file, 1, match, skip))[0] ?? null;
}

/**
 * The last `n` meaningful lines of a log, by `lastLogLine`'s rule: a crash's reason is kept
 * however long the stack printed after it. None when there are none (or no file).
 */
export async function lastLogLines(file: string, n: number, match?: RegExp, skip?: RegExp): Promise<string[]> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const length = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      text = buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l) && (!match || match.test(l)) && !skip?.test(l));
  // a log quotes what servers sent: cleaned by core's one rule before a person sees it
  return lines.slice(-n).map((l) => plainLine(l).trim());
}

/** A capi.log line without its timestamp. */
export const withoutTime = (line: string) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '');

/** capi-exec's closing count line (`capi-exec: 0 ran, 0 passed, … in 0.0s`): the reason is the line before it. */
const EXEC_SUMMARY = /^capi-exec: \d+ ran, /;

/** Why a batch's capi-exec ended, from logs/<batch>.log: its last line other than the closing counts. */
export async function batchReason(logFile: string): Promise<string | null> {
  return lastLogLine(logFile, undefined, EXEC_SUMMARY);
}

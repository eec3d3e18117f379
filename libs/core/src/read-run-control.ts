import { readIfExists, readIfExistsSync } from './read-if-exists.js';
import type { RunControl } from './run-control.js';

/**
 * control.json as read (docs/run-folder.md "control.json"): the one reading of its bytes and
 * of its shape, for capi-exec (four times a second), capi-launch and capi-watch, each of which
 * keeps its own policy on top (a missing or damaged file is no change for a worker, a message
 * for `--set`, the last good copy for capi-watch). `text`: the bytes as read. `damaged`: not
 * JSON (never with capi-launch's atomic writer: a hand edit, or a write cut short), with
 * JSON.parse's reason. `control`: its fields, each taken or not by core's rules
 * (`controlRate`, `controlConcurrency`, `controlWorkers`, `paused`/`stop` only when `true`); a
 * JSON value that is no object (null, a list, a number) has no field capi-exec takes, and is
 * read as `{}`, every field missing.
 */
export type ControlFile = { text: string; control: Partial<RunControl> } | { text: string; damaged: string };

/** control.json's text as read (`ControlFile`). */
export function parseRunControl(text: string): ControlFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { text, damaged: (err as Error).message };
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  return { text, control: isObject ? (parsed as Partial<RunControl>) : {} };
}

/** The control.json at `path`; null when there is none. Any other failure to read it is thrown. */
export async function readRunControl(path: string): Promise<ControlFile | null> {
  const text = await readIfExists(path);
  return text === null ? null : parseRunControl(text);
}

/**
 * `readRunControl` without the thread pool, for capi-exec's four reads a second of a file of
 * some 80 bytes (a thread-pool round trip each through fs/promises, issue 16).
 */
export function readRunControlSync(path: string): ControlFile | null {
  const text = readIfExistsSync(path);
  return text === null ? null : parseRunControl(text);
}

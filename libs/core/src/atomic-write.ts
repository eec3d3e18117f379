import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  type Stats,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { lstat, open, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CapiError, isErrnoException, writeError } from './errors.js';
import { ExitCode } from './exit-code.js';
import { makeDir } from './make-dir.js';
import { randomHex } from './random-tag.js';

/** Files written by capi hold API data: owner-only by default (docs/run-folder.md). */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomHex(4)}`;
}

/**
 * Temp files of streams neither committed nor aborted. A tool can end without either (a
 * dead stdout exits at once with code 3, a signal): they are removed on the way out, so
 * no half-written `*.tmp-*` file is left beside the outputs.
 */
const openTemps = new Set<string>();
let sweepOnExit = false;
function trackTemp(tmp: string): void {
  openTemps.add(tmp);
  if (sweepOnExit) return;
  sweepOnExit = true;
  process.on('exit', () => {
    for (const t of openTemps) rmSync(t, { force: true });
  });
  // A tool with no signal handler of its own (capi-merge) dies on Ctrl-C, a TERM or a
  // closed terminal (HUP) without an 'exit' event: exit properly instead, so the temp files go too.
  for (const [sig, code] of [
    ['SIGHUP', ExitCode.sighup],
    ['SIGINT', ExitCode.sigint],
    ['SIGTERM', ExitCode.sigterm],
  ] as const)
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(code));
}

interface Target {
  /** Where the bytes go: a symlink's final target, else the path itself. */
  path: string;
  /** A FIFO, a device or a socket (`/dev/stdout`, `>(…)`): written in place, never replaced. */
  direct: boolean;
}

/**
 * What a path lstat saw means for a write (`st` undefined: nothing there), or `'link'`
 * when it is a symbolic link to follow. temp + rename would replace a symlink with a
 * file, and a FIFO or a device with a file nobody reads, so those are followed or
 * written in place. The rule of resolveWritePath and resolveWritePathSync alike.
 */
function targetOf(path: string, st: Stats | undefined, depth: number): Target | 'link' {
  if (!st) return { path, direct: false };
  if (st.isSymbolicLink()) {
    if (depth >= 16) throw new CapiError(`cannot write ${path}: too many symbolic links`, ExitCode.badInput);
    return 'link';
  }
  if (st.isDirectory()) throw new CapiError(`cannot write ${path}: it is a folder`, ExitCode.badInput);
  return { path, direct: !st.isFile() };
}

/** What writing to `path` means (targetOf), its symbolic links followed. */
export async function resolveWritePath(path: string, depth = 0): Promise<Target> {
  let st: Stats | undefined;
  try {
    st = await lstat(path);
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
  }
  const target = targetOf(path, st, depth);
  if (target !== 'link') return target;
  return resolveWritePath(resolve(dirname(path), await readlink(path)), depth + 1);
}

/**
 * Writes a whole file so that readers see the old content or the new one, never a half.
 * `sync: false` skips the fsync before the rename, for files that are rewritten all the
 * time and worth nothing after a power cut (a heartbeat, a claim: a lost claim reads as
 * unfinished and its batch resumes from its journal); readers still never see a half.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = FILE_MODE,
  { sync = true }: { sync?: boolean } = {},
): Promise<void> {
  const { path, direct } = await resolveWritePath(target);
  if (direct) return writeFile(path, data).catch((err: unknown) => Promise.reject(writeError(target, err)));
  const tmp = tempPathFor(path);
  // the folder is made only when it is missing: a heartbeat is rewritten every second
  const fh = await open(tmp, 'w', mode).catch(async (err: unknown) => {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    await makeDir(dirname(path));
    return open(tmp, 'w', mode);
  });
  try {
    await fh.writeFile(data);
    if (sync) await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw writeError(target, err);
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** What writing to `path` means, as `resolveWritePath` says, without the thread pool. */
function resolveWritePathSync(path: string, depth = 0): Target {
  const target = targetOf(path, lstatSync(path, { throwIfNoEntry: false }), depth);
  if (target !== 'link') return target;
  return resolveWritePathSync(resolve(dirname(path), readlinkSync(path)), depth + 1);
}

/** Opens a new temp file; its folder is made only when it is missing (the common case costs one open). */
function openTempSync(tmp: string, mode: number): number {
  try {
    return openSync(tmp, 'wx', mode);
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') throw err;
    // a plain mkdir -p: the async makeDir's better message is for folders of outputs people name
    mkdirSync(dirname(tmp), { recursive: true, mode: DIR_MODE });
    return openSync(tmp, 'wx', mode);
  }
}

/**
 * `writeFileAtomic` for a small file written often on a busy loop (a heartbeat, a
 * journal's meta): the same temp + rename, made with synchronous calls on the main
 * thread. Each fs/promises call is a hand-over to the thread pool and a wake-up back;
 * a capi-exec worker wrote some ten such files' worth of calls per batch of 100 tests,
 * a tenth of its CPU time (issue 16). On a stalled file system this stalls the loop,
 * as the journal's own synchronous writes already do.
 */
export function writeFileAtomicSync(
  target: string,
  data: string | Uint8Array,
  mode = FILE_MODE,
  { sync = true }: { sync?: boolean } = {},
): void {
  const { path, direct } = resolveWritePathSync(target);
  if (direct) {
    try {
      writeFileSync(path, data);
    } catch (err) {
      throw writeError(target, err);
    }
    return;
  }
  const tmp = tempPathFor(path);
  const fd = openTempSync(tmp, mode);
  try {
    writeFileSync(fd, data);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw writeError(target, err);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export interface AtomicStream {
  readonly stream: WriteStream;
  readonly path: string;
  /**
   * Ends the stream and waits until every byte is written. A failed write (a full disk,
   * a file too large) rejects here as `cannot write PATH: reason` (exit 3), never as an
   * unhandled 'error' event. Call it on every stream before committing any, so a set of
   * outputs is renamed into place only when all of them were written.
   */
  finish(): Promise<void>;
  /** finish(), then renames the temp file into place. */
  commit(): Promise<void>;
  /** Ends the stream and removes the temp file: nothing is left behind. */
  abort(): Promise<void>;
}

/**
 * Keeps a stream's first error for finish() to report; without a listener a failed
 * write would be an uncaught 'error' event that crashes the process.
 */
function ending(stream: WriteStream, target: string) {
  let failure: unknown = null;
  stream.on('error', (err) => {
    failure ??= err;
  });
  const closed = () =>
    stream.closed ? Promise.resolve() : new Promise<void>((done) => stream.once('close', () => done()));
  return {
    async finish() {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
      await closed();
      if (failure) throw writeError(target, failure);
    },
    async destroy() {
      if (!stream.destroyed) stream.destroy();
      await closed();
    },
  };
}

/** A write stream that only becomes `path` on commit (a FIFO or device is written in place). */
export async function createAtomicStream(target: string, mode = FILE_MODE): Promise<AtomicStream> {
  const { path, direct } = await resolveWritePath(target);
  if (direct) return directStream(target, path);
  await makeDir(dirname(path));
  const tmp = tempPathFor(path);
  const stream = createWriteStream(tmp, { mode });
  trackTemp(tmp);
  await once(stream, 'open');
  const end = ending(stream, target);
  const remove = async () => {
    await rm(tmp, { force: true });
    openTemps.delete(tmp);
  };
  const finish = async () => {
    try {
      await end.finish();
    } catch (err) {
      await remove();
      throw err;
    }
  };
  return {
    stream,
    path: target,
    finish,
    async commit() {
      await finish();
      try {
        await rename(tmp, path);
        openTemps.delete(tmp);
      } catch (err) {
        await remove();
        throw writeError(target, err);
      }
    },
    async abort() {
      await end.destroy();
      await remove();
    },
  };
}

async function directStream(target: string, path: string): Promise<AtomicStream> {
  const stream = createWriteStream(path, { flags: 'w' });
  await once(stream, 'open');
  const end = ending(stream, target);
  return { stream, path: target, finish: end.finish, commit: end.finish, abort: end.destroy };
}

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CapiError, isErrnoException } from './errors.js';
import { ExitCode } from './exit-code.js';

/** Files written by capi hold API data: owner-only by default (docs/run-folder.md). */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

interface Target {
  /** Where the bytes go: a symlink's final target, else the path itself. */
  path: string;
  /** A FIFO, a device or a socket (`/dev/stdout`, `>(…)`): written in place, never replaced. */
  direct: boolean;
}

/**
 * What writing to `path` means. temp + rename would replace a symlink with a file, and a
 * FIFO or a device with a file nobody reads, so those are followed or written in place.
 */
export async function resolveTarget(path: string, depth = 0): Promise<Target> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return { path, direct: false };
    throw err;
  }
  if (st.isSymbolicLink()) {
    if (depth >= 16) throw new CapiError(`cannot write ${path}: too many symbolic links`, ExitCode.badInput);
    return resolveTarget(resolve(dirname(path), await readlink(path)), depth + 1);
  }
  if (st.isDirectory()) throw new CapiError(`cannot write ${path}: it is a folder`, ExitCode.badInput);
  return { path, direct: !st.isFile() };
}

/** Writes a whole file so that readers see the old content or the new one, never a half. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = FILE_MODE): Promise<void> {
  const { path, direct } = await resolveTarget(target);
  if (direct) return writeFile(path, data);
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface AtomicStream {
  readonly stream: WriteStream;
  readonly path: string;
  /** Ends the stream, then renames the temp file into place. */
  commit(): Promise<void>;
  /** Ends the stream and removes the temp file: nothing is left behind. */
  abort(): Promise<void>;
}

/** A write stream that only becomes `path` on commit (a FIFO or device is written in place). */
export async function createAtomicStream(target: string, mode = FILE_MODE): Promise<AtomicStream> {
  const { path, direct } = await resolveTarget(target);
  if (direct) return directStream(target, path);
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
  const tmp = tempPathFor(path);
  const stream = createWriteStream(tmp, { mode });
  await once(stream, 'open');
  const finish = async () => {
    if (!stream.writableFinished && !stream.destroyed) {
      stream.end();
      await once(stream, 'close');
    }
  };
  return {
    stream,
    path: target,
    async commit() {
      await finish();
      await rename(tmp, path);
    },
    async abort() {
      // Writes still queued fail with ERR_STREAM_DESTROYED: that is what aborting means,
      // not an error to crash on.
      stream.on('error', () => {});
      if (!stream.destroyed) stream.destroy();
      // Not events.once: it rejects on that same 'error'.
      if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      await rm(tmp, { force: true });
    },
  };
}

async function directStream(target: string, path: string): Promise<AtomicStream> {
  const stream = createWriteStream(path, { flags: 'w' });
  await once(stream, 'open');
  const closed = () =>
    stream.closed ? Promise.resolve() : new Promise<void>((done) => stream.once('close', () => done()));
  return {
    stream,
    path: target,
    async commit() {
      if (!stream.writableEnded) stream.end();
      await closed();
    },
    async abort() {
      stream.on('error', () => {});
      if (!stream.destroyed) stream.destroy();
      await closed();
    },
  };
}

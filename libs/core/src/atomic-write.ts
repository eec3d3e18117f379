import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Files written by capi hold API data: owner-only by default (docs/run-folder.md). */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes a whole file so that readers see the old content or the new one, never a half. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = FILE_MODE): Promise<void> {
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

/** A write stream that only becomes `path` on commit. */
export async function createAtomicStream(path: string, mode = FILE_MODE): Promise<AtomicStream> {
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
    path,
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

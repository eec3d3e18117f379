import type { Transform } from 'node:stream';
import type * as Zlib from 'node:zlib';

/**
 * node:zlib, loaded at the first compressed answer: a run whose API never compresses (a
 * one-test run, most internal APIs) does not pay its load at start-up (about a millisecond,
 * docs/benchmarks.md "capi-exec start-up").
 */
const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');

/**
 * Decodes a `Content-Encoding` body (gzip, deflate, br, and stacked ones like `gzip, br`)
 * as it arrives, keeping at most `keep` decoded bytes. Once the decoded body passes
 * `keep` the decoders are stopped: a compression bomb (a few KB that inflate to GBs) costs
 * `keep` bytes and the time to inflate them, never more. Checks see the decoded body, as
 * browsers and Hurl's asserts do.
 */
export interface BodyDecoder {
  /** False: the decoders are full, wait for `onDrain` before more (the socket is paused). */
  write(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
  /** The body is complete: resolves once the decoders have flushed. */
  finish(): Promise<Decoded>;
  destroy(): void;
}

export interface Decoded {
  chunks: Buffer[];
  kept: number;
  /** Decoded bytes seen; when `cut`, as many as were decoded before stopping (more than `keep`). */
  decoded: number;
  /** The decoded body passed `keep`: decoding stopped there. */
  cut: boolean;
  /** A corrupt body (`incorrect header check`, `unexpected end of file`), or null. */
  error: string | null;
}

/** Encodings capi-exec decodes; `x-gzip` is gzip (RFC 9110 §8.4.1.3). `deflate` is the zlib format. */
const MAKERS: Record<string, () => Transform> = {
  gzip: () => zlib().createGunzip(),
  'x-gzip': () => zlib().createGunzip(),
  deflate: () => zlib().createInflate(),
  br: () => zlib().createBrotliDecompress(),
};

/** The codings of a Content-Encoding value, in the order they were applied; `identity` dropped. */
export function codings(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/** The first coding capi-exec cannot decode, or null. */
export function unknownCoding(list: string[]): string | null {
  return list.find((c) => !Object.hasOwn(MAKERS, c)) ?? null;
}

export function createBodyDecoder(list: string[], keep: number): BodyDecoder {
  // Applied gzip then br: undone br first.
  const chain = [...list].reverse().map((c) => (MAKERS[c] as () => Transform)());
  for (let i = 0; i + 1 < chain.length; i++) (chain[i] as Transform).pipe(chain[i + 1] as Transform);
  const head = chain[0] as Transform;
  const tail = chain.at(-1) as Transform;
  const out: Decoded = { chunks: [], kept: 0, decoded: 0, cut: false, error: null };
  let done = false;
  let settle: (() => void) | null = null;
  const drains: Array<() => void> = [];

  const stop = () => {
    if (done) return;
    done = true;
    for (const d of chain) d.destroy();
    for (const resume of drains.splice(0)) resume();
    settle?.();
  };
  tail.on('data', (chunk: Buffer) => {
    if (done) return;
    out.decoded += chunk.length;
    if (out.kept < keep) {
      const part = chunk.length <= keep - out.kept ? chunk : chunk.subarray(0, keep - out.kept);
      out.chunks.push(part);
      out.kept += part.length;
    }
    if (out.decoded > keep) {
      out.cut = true;
      stop();
    }
  });
  for (const d of chain)
    d.on('error', (err: Error) => {
      if (done) return;
      out.error = err.message;
      stop();
    });
  tail.on('end', stop);
  head.on('drain', () => {
    for (const resume of drains.splice(0)) resume();
  });

  return {
    write: (chunk) => done || head.write(chunk),
    onDrain(resume) {
      if (done) resume();
      else drains.push(resume);
    },
    finish() {
      return new Promise<Decoded>((resolve) => {
        settle = () => resolve(out);
        if (done) resolve(out);
        else head.end();
      });
    },
    destroy: stop,
  };
}

import type { InputError, Shard } from '@capi/core';

/** What the input is: `auto` looks at the first byte that is not blank (`{` means NDJSON). */
export type InputFormat = 'auto' | 'csv' | 'ndjson';

export interface SplitOptions {
  /** Name used in messages and in each record's `source.file`: a path, or `<stdin>`. */
  source: string;
  format?: InputFormat;
  /** Rows without an id (no id column, or an empty cell) get `row-<line>`. */
  autoId?: boolean;
  /** CSV columns declared variables (`--vars-columns`): kept even when no template uses them. */
  varsColumns?: readonly string[];
  /** Data-row range: 0-based `start` inclusive, `end` exclusive, counted before any other filter. */
  start?: number;
  end?: number;
  /** Keep tests that have any of these tags. */
  tags?: string[];
  /** Keep tests whose id or name matches. */
  grep?: RegExp;
  shard?: Shard;
  /** Skip bad rows (reported through `onSkip`) instead of stopping; broken CSV structure stays fatal. */
  lenient?: boolean;
  onSkip?: (error: InputError) => void;
  /** Called every PROGRESS_EVERY data rows read, with the number read so far. */
  onProgress?: (rowsRead: number) => void;
}

export const PROGRESS_EVERY = 4096;

/** Setup and teardown rows are held in memory and copied into every batch: a bound on both. */
export const MAX_PHASE_ROWS = 1000;

/** The bytes of a suite: a Readable (file, stdin), or any iterable of chunks. */
export type SuiteBytes = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

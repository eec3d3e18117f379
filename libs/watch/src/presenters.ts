import type { Writable } from 'node:stream';
import { renderPlain } from './render-plain.js';
import type { Snapshot } from './snapshot.js';
import type { FailureFilter } from './snapshot-rows.js';

/** Where snapshots go: a text block, an NDJSON line, or the dashboard. */
export interface Presenter {
  /** `final`: the run ended (or went DEAD): show it now, whatever the interval. */
  show(s: Snapshot, changed: boolean, final: boolean): void;
  /** Resolves when the person quits (dashboard only). */
  readonly quit: Promise<void> | null;
  readonly failureFilter: FailureFilter;
  /** Something for people: stderr, or the dashboard's message line. */
  note(text: string): void;
  close(): void;
}

export interface IntervalPresenterOptions {
  stdout: Writable;
  stderr: Writable;
  intervalMs: number;
  now: () => number;
  format: (s: Snapshot) => string;
}

/** Prints a snapshot every interval and once more at the end (--plain, --json). */
export function intervalPresenter(opts: IntervalPresenterOptions): Presenter {
  let last = Number.NEGATIVE_INFINITY;
  return {
    quit: null,
    failureFilter: 'all',
    show(s, _changed, final) {
      const t = opts.now();
      if (!final && t - last < opts.intervalMs) return;
      last = t;
      opts.stdout.write(opts.format(s));
    },
    note(text) {
      opts.stderr.write(`capi-watch: ${text}\n`);
    },
    close() {},
  };
}

export const formatPlain = (s: Snapshot) => `${renderPlain(s)}\n`;
export const formatJson = (s: Snapshot) => `${JSON.stringify(s)}\n`;

/**
 * control.json, a launched run's live limits (docs/run-folder.md "control.json"): written
 * whole by capi-launch (`--pause`, `--continue`, `--set`, and its supervisor's `workers`),
 * re-read every second by each capi-exec given `--control`, which reads a `rate` or
 * `concurrency` that is missing or not of its type (a hand-edited file) as null, such a
 * `workers` as 1, and a file it cannot parse (half-written) as no change.
 */
export interface RunControl {
  paused: boolean;
  /** The whole run's rate in `--rate`'s grammar (core parse-rate.ts), shared by the `workers`; null: no limit. */
  rate: string | null;
  /** Each worker's concurrency; null: capi-exec's own. */
  concurrency: number | null;
  /** The worker slots at work, which share `rate` equally. */
  workers: number;
  /**
   * true: every capi-exec reading the file stops as on a first SIGTERM (no new tests,
   * in-flight ones get `--grace`). capi-launch's `--hosts` supervisor writes it into the
   * copies it pushes to remote workers, which no signal of this machine reaches.
   */
  stop?: boolean;
}

/**
 * Milliseconds on a monotonic clock, for durations, deadlines and pauses within one process
 * (never a time of day: its zero is arbitrary). The global `performance.now()` would do, but
 * its first use loads node:perf_hooks and ten modules under it, some 4 ms of a one-test
 * capi-exec start (docs/benchmarks.md, "capi-exec start-up, sixteenth round");
 * process.hrtime reads the same clock at the same cost per call.
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

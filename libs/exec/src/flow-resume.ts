import type { TestRecord } from '@capi/core';

/**
 * A flow is the unit of resume (docs/formats.md "Result record"): a flow whose every row
 * has a journaled result is done; a flow with some rows done and others not runs again
 * from its first row, with `flowRun` one more than the highest journaled, so that no row
 * runs with a value captured by a process that is gone. As the input streams, the done
 * rows of a flow are held until a row that is not done shows the flow was cut (then they
 * all run again), or the input ends (then the flow was complete).
 */
export interface FlowResumeParts {
  /** The journal has a result for this test (its fingerprint was checked). */
  isDone(rec: TestRecord): boolean;
  /** A test the journal has and that does not run again: counted as resumed. */
  settle(rec: TestRecord): void;
  /** The highest `flowRun` journaled per flow. */
  journaled: ReadonlyMap<string, number>;
  /** Filled here: flows run again and their new `flowRun`, read when their results are made. */
  rerun: Map<string, number>;
}

type FlowResume = TestRecord[] | 'run';

/**
 * The records still to run, with flows kept whole; tests without a flow pass to `single`.
 * A chunk in, the records of it still to run out (none: nothing handed on); a refusal
 * (`single` or `isDone` throws) comes after the records before it were handed on.
 */
export async function* resumeFlows(
  records: AsyncIterable<TestRecord[]>,
  parts: FlowResumeParts,
  single: (rec: TestRecord) => boolean,
): AsyncGenerator<TestRecord[]> {
  const flows = new Map<string, FlowResume>();
  for await (const chunk of records) {
    const out: TestRecord[] = [];
    let bad: unknown = null;
    try {
      for (const rec of chunk) {
        const flow = rec.flow;
        if (flow === undefined) {
          if (single(rec)) out.push(rec);
          continue;
        }
        const state = flows.get(flow);
        const done = parts.isDone(rec);
        if (state === 'run') {
          out.push(rec);
        } else if (done) {
          if (state) state.push(rec);
          else flows.set(flow, [rec]);
        } else {
          flows.set(flow, 'run');
          if (state) {
            // Cut part-way: every row again, from the first.
            parts.rerun.set(flow, (parts.journaled.get(flow) ?? 1) + 1);
            for (const held of state) out.push(held);
          }
          out.push(rec);
        }
      }
    } catch (err) {
      bad = err;
    }
    if (out.length > 0) yield out;
    if (bad) throw bad;
  }
  for (const state of flows.values()) if (state !== 'run') for (const rec of state) parts.settle(rec);
}

import type { ResultStatus, TestRecord } from '@capi/core';
import { captureBag } from './capture.js';

/**
 * Flow lanes (docs/capi-exec.md "Flows"): the rows of one flow run one at a time in input
 * order, in one lane; different flows run side by side. A row read while its flow has a
 * row in flight is held, and the lane that runs the flow takes it next. Each flow keeps
 * its own captured values: no flow ever reads another's. When a row fails or errors, the
 * flow stops: its held rows, and rows of it read later, are not sent.
 */

interface FlowState {
  /** A lane is running this flow (a row in flight, or between two of its rows). */
  busy: boolean;
  held: TestRecord[];
  values: Record<string, string>;
  /** The FLOW_STOPPED message for every later row, once a row failed or errored. */
  stoppedBy: string | null;
}

/** What to do with a flow row as it is read. */
export type Admission = { start: true } | { held: true } | { stopped: string };

export interface FlowLanes {
  admit(rec: TestRecord & { flow: string }): Admission;
  /**
   * A row of the flow ended with `status` (null: cut by a stop). Returns the next held
   * row to run in the same lane, or null when the lane is done with the flow for now;
   * rows that will not be sent because the flow stopped are in `stopped`, with why.
   */
  after(flow: string, id: string, status: ResultStatus | null): { next: TestRecord | null; stopped: TestRecord[] };
  /** The FLOW_STOPPED message of a stopped flow, or null. */
  stoppedBy(flow: string): string | null;
  /** The flow's captured values so far. */
  values(flow: string): Record<string, string>;
  capture(flow: string, values: Record<string, string>): void;
  /** Rows held in memory, across flows: the reader waits past a bound. */
  readonly held: number;
}

export function createFlowLanes(): FlowLanes {
  const flows = new Map<string, FlowState>();
  let held = 0;
  const stateOf = (flow: string): FlowState => {
    let s = flows.get(flow);
    if (!s) {
      s = { busy: false, held: [], values: captureBag(), stoppedBy: null };
      flows.set(flow, s);
    }
    return s;
  };
  return {
    admit(rec) {
      const s = stateOf(rec.flow);
      if (s.stoppedBy !== null) return { stopped: s.stoppedBy };
      if (s.busy) {
        s.held.push(rec);
        held++;
        return { held: true };
      }
      s.busy = true;
      return { start: true };
    },
    after(flow, id, status) {
      const s = stateOf(flow);
      if (status === 'failed' || status === 'error') {
        s.stoppedBy = `not sent: row ${id} of flow ${flow} ${status === 'failed' ? 'failed' : 'ended in an error'}`;
        // What it captured is of no use now: a stopped flow keeps only its reason.
        s.values = captureBag();
      }
      if (status === null || s.stoppedBy !== null) {
        const rest = s.held.splice(0);
        held -= rest.length;
        s.busy = false;
        return { next: null, stopped: status === null ? [] : rest };
      }
      const next = s.held.shift() ?? null;
      if (next) held--;
      else s.busy = false;
      return { next, stopped: [] };
    },
    stoppedBy: (flow) => flows.get(flow)?.stoppedBy ?? null,
    values: (flow) => flows.get(flow)?.values ?? captureBag(),
    capture(flow, values) {
      const s = stateOf(flow);
      s.values = captureBag(s.values, values);
    },
    get held() {
      return held;
    },
  };
}

import { suiteOrder, type TestRecord, ValueError } from '@capi/core';
import { FieldError } from './cell-values.js';

/**
 * What rows of a suite may use of each other's captures, and where flow rows may sit
 * (docs/formats.md "Flows"), read in suite order over every row, before any filter:
 * - setup rows come before every test and teardown row (they run first in each process);
 * - the rows of a flow are together (a flow is cut into batches and shards whole, as a
 *   stream, so its rows cannot be gathered from all over the suite);
 * - `{{name}}` may name a capture of a setup row, or of an earlier row of its own flow (a
 *   teardown row: of an earlier teardown row); a capture may not take a column's name.
 * The first two are core's `suiteOrder`, which `capi-merge --suite` applies too.
 * Memory: where each flow seen so far began (to refuse a flow that comes back), kept as a
 * hash and a line like the ids (core's id-lines.ts: 12 bytes a slot, not the name in a
 * Map: a suite of 1,000,000 one-row flows peaked at 255 MB so, 137 MB without flows),
 * nothing per row.
 */
export interface FlowScope {
  /** Throws FieldError when the row is out of place. */
  place(rec: TestRecord, vars: ReadonlySet<string>): void;
  /** The captured names the row may use, next to the suite's variables. */
  known(rec: TestRecord, vars: ReadonlySet<string>): ReadonlySet<string>;
  /** Why `name` is unknown to this row, when captures explain it better than `problem`. */
  explain(rec: TestRecord, name: string, problem: string): string;
  /** Learns an accepted row: its captures, its flow. */
  learn(rec: TestRecord): void;
}

export function flowScope(): FlowScope {
  const setupNames = new Set<string>();
  const teardownNames = new Set<string>();
  const order = suiteOrder();
  /** The first flow that captured each name: for "captured only in another flow". */
  const capturedIn = new Map<string, string>();
  /** The captures of the current flow (core's `suiteOrder` knows which flow that is). */
  let currentNames = new Set<string>();
  return {
    place(rec, vars) {
      // a column (or a record's own variable) would always win over the capture: it could never be read
      for (const { name } of rec.capture ?? [])
        if (vars.has(name))
          throw new FieldError(
            'capture',
            `capture name "${name}" is also a column of the suite (the column would always win); choose another name`,
          );
      try {
        order.check(rec);
      } catch (err) {
        if (err instanceof ValueError) throw new FieldError(err.field, err.message);
        throw err;
      }
    },
    known(rec, vars) {
      const own =
        rec.phase === 'teardown'
          ? teardownNames
          : rec.flow != null && rec.flow === order.currentFlow
            ? currentNames
            : null;
      if (setupNames.size === 0 && own === null) return vars;
      return new Set([...vars, ...setupNames, ...(own ?? [])]);
    },
    explain(rec, name, problem) {
      if (rec.capture?.some((c) => c.name === name))
        return `template {{${name}}} uses this row's own capture: a capture is usable only by later rows of its flow`;
      const other = capturedIn.get(name);
      if (other !== undefined && other !== rec.flow)
        return rec.flow
          ? `template {{${name}}} is captured only in flow ${JSON.stringify(other)}, not in flow ${JSON.stringify(rec.flow)}: a flow's captures are its own (capture it earlier in this flow, or in a setup row)`
          : `template {{${name}}} is captured only in flow ${JSON.stringify(other)}, and this row is in no flow: only setup captures reach every row`;
      if (rec.flow || order.anyFlow || setupNames.size > 0)
        return `${problem} (nor does a setup row or an earlier row of its flow capture it: a capture is usable only after the row that captures it)`;
      return problem;
    },
    learn(rec) {
      const flow = rec.flow ?? null;
      if (order.learn(rec, rec.source?.line ?? 0)) currentNames = new Set();
      for (const { name } of rec.capture ?? []) {
        if (rec.phase === 'setup') setupNames.add(name);
        else if (rec.phase === 'teardown') teardownNames.add(name);
        else if (flow !== null) {
          currentNames.add(name);
          if (!capturedIn.has(name)) capturedIn.set(name, flow);
        }
      }
    },
  };
}

import { idLines } from './id-lines.js';
import { ValueError } from './validate.js';

/** What the order rules read of a suite row (CSV or test record alike). */
export interface OrderedRow {
  flow?: string | null;
  phase?: string | null;
}

/**
 * Where setup and flow rows may sit in a suite (docs/formats.md "Flows"), read in suite
 * order over every row: setup rows come before every test and teardown row (they run
 * first in each process), and the rows of a flow are together (a flow is cut into batches
 * and shards whole, as a stream). capi-split refuses a suite that breaks them, and
 * `capi-merge --suite` refuses the same suite in the same words. `check` throws a
 * ValueError naming the field; `learn` takes a row that was accepted (a row `--lenient`
 * skips is not learnt). Memory: the flows seen, as hashes and lines (id-lines.ts).
 */
export function suiteOrder() {
  const flowStart = idLines();
  let current: string | null = null;
  let pastSetup = false;
  return {
    check(row: OrderedRow): void {
      if (row.phase === 'setup' && pastSetup)
        throw new ValueError(
          'a setup row after tests: setup rows come first in the suite (they run before every test of each process)',
          'phase',
        );
      const flow = row.flow ?? null;
      const began = flow !== null && flow !== current ? flowStart.lineOf(flow) : 0;
      if (began !== 0)
        throw new ValueError(
          `flow ${JSON.stringify(flow)} continues after other rows: the rows of a flow must be together (it began at line ${began})`,
          'flow',
        );
    },
    /** Returns whether the row begins a flow (or leaves one). */
    learn(row: OrderedRow, line: number): boolean {
      if (row.phase !== 'setup') pastSetup = true;
      const flow = row.flow ?? null;
      if (flow === current) return false;
      current = flow;
      if (flow !== null) flowStart.firstLine(flow, line);
      return true;
    },
    /** The flow of the last row learnt (null: none, or no flow). */
    get currentFlow(): string | null {
      return current;
    },
    /** Some flow has been seen. */
    get anyFlow(): boolean {
      return flowStart.size > 0;
    },
  };
}

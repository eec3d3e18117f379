import { inShard, type TestRecord } from '@capi/core';
import type { SplitOptions } from './options.js';

/**
 * The filters, in the order they apply: the row range (`start`/`end`, by position among
 * the input's data rows, bad rows included), then tags, then grep, then the shard.
 * Returns null when no filter is set, so the common case costs nothing.
 *
 * Flows (docs/capi-split.md "Flows"): setup and teardown rows pass every filter, since
 * every process that runs tests logs in for itself; a flow is taken or left whole, as its
 * first row decides (its rows are together in the suite, so one decision is remembered),
 * and its shard is chosen by its name, not by the ids of its rows.
 */
export function recordFilter(options: SplitOptions): ((record: TestRecord, rowIndex: number) => boolean) | null {
  const { start = 0, end, tags, grep, shard } = options;
  const wanted = tags && tags.length > 0 ? new Set(tags) : null;
  if (start === 0 && end === undefined && !wanted && !grep && !shard) return null;
  const takes = (record: TestRecord, rowIndex: number) => {
    if (rowIndex < start || (end !== undefined && rowIndex >= end)) return false;
    if (wanted && !record.tags.some((tag) => wanted.has(tag))) return false;
    if (grep && !(grep.test(record.id) || grep.test(record.name))) return false;
    return !shard || inShard(record.flow ?? record.id, shard);
  };
  let flow: string | null = null;
  let flowTaken = false;
  return (record, rowIndex) => {
    if (record.phase !== undefined) return true;
    if (record.flow == null) {
      flow = null;
      return takes(record, rowIndex);
    }
    if (record.flow !== flow) {
      flow = record.flow;
      flowTaken = takes(record, rowIndex);
    }
    return flowTaken;
  };
}

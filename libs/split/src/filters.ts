import { inShard, type TestRecord } from '@capi/core';
import type { SplitOptions } from './options.js';

/**
 * The filters, in the order they apply: the row range (`start`/`end`, by position among
 * the input's data rows, bad rows included), then tags, then grep, then the shard.
 * Returns null when no filter is set, so the common case costs nothing.
 */
export function recordFilter(options: SplitOptions): ((record: TestRecord, rowIndex: number) => boolean) | null {
  const { start = 0, end, tags, grep, shard } = options;
  const wanted = tags && tags.length > 0 ? new Set(tags) : null;
  if (start === 0 && end === undefined && !wanted && !grep && !shard) return null;
  return (record, rowIndex) => {
    if (rowIndex < start || (end !== undefined && rowIndex >= end)) return false;
    if (wanted && !record.tags.some((tag) => wanted.has(tag))) return false;
    if (grep && !(grep.test(record.id) || grep.test(record.name))) return false;
    return !shard || inShard(record.id, shard);
  };
}

import { InputError } from '@capi/core';
import { type ColumnMap, KNOWN_COLUMNS, nearestColumn, VAR_PREFIX } from './columns.js';

/**
 * A column that is neither a suite column, nor used by a `{{template}}`, nor declared a
 * variable would check nothing (`json`, `assert_json`, `latency_ms`, `status`): the row
 * passes whatever the answer. Whether a template uses it is known only at the end of the
 * input, so this keeps one flag per column and `check()` runs there.
 */
export function unusedColumns(map: ColumnMap, source: string, headerLine: number) {
  const pending = new Map<string, number>();
  for (const v of map.vars) if (!v.declared) pending.set(v.name, v.index);
  return {
    /** A template used `name`: if it is a column, it is a variable. */
    use(name: string): void {
      if (pending.size > 0) pending.delete(name);
    },
    /** Throws for the first column (in header order) that no template used. */
    check(): void {
      const first = [...pending].sort((a, b) => a[1] - b[1])[0];
      if (first) throw new InputError(source, headerLine, unusedMessage(first[0], first[1]));
    },
  };
}

function unusedMessage(name: string, index: number): string {
  const near = suggestColumns(name);
  const hint = near.length > 0 ? `; did you mean ${near.map((c) => `"${c}"`).join(' or ')}?` : '';
  return (
    `column ${index + 1} "${name}" is not a suite column and no {{template}} uses it, so it would check nothing${hint}` +
    ` (a variable: --vars-columns ${name}, or name it ${VAR_PREFIX}${name})`
  );
}

/**
 * Suite columns `name` may have meant: the nearest by spelling, else those whose last word
 * it shares (`json`, `assert_json` → expect_json; `status` → expect_status; `latency_ms` →
 * max_ms, timeout_ms).
 */
export function suggestColumns(name: string): string[] {
  const near = nearestColumn(name);
  if (near !== null) return [near];
  const words = name
    .trim()
    .toLowerCase()
    .split(/[-_\s.]+/)
    .filter(Boolean);
  const last = words[words.length - 1];
  if (last === undefined) return [];
  return KNOWN_COLUMNS.filter((c) => c.split('_').at(-1) === last);
}

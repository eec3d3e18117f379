import { InputError } from '@capi/core';

/** The suite columns of docs/formats.md; any other column is a variable. */
export const KNOWN_COLUMNS = [
  'id',
  'name',
  'method',
  'url',
  'headers',
  'body',
  'expect_status',
  'expect_body',
  'expect_json',
  'max_ms',
  'timeout_ms',
  'tags',
  'enabled',
] as const;
export type KnownColumn = (typeof KNOWN_COLUMNS)[number];

/** Where each column sits in a row: known columns by name, variables by their header text. */
export interface ColumnMap {
  known: Partial<Record<KnownColumn, number>>;
  vars: Array<{ name: string; index: number }>;
  width: number;
}

const isKnown = (name: string): name is KnownColumn => (KNOWN_COLUMNS as readonly string[]).includes(name);

/**
 * Reads the header row. Names are trimmed and matched without regard to case; a variable
 * keeps its name as written (trimmed), since `{{name}}` templates refer to it.
 */
export function mapColumns(cells: string[], line: number, source: string, autoId = false): ColumnMap {
  const map: ColumnMap = { known: {}, vars: [], width: cells.length };
  const seen = new Map<string, number>();
  cells.forEach((cell, index) => {
    const name = cell.trim();
    const key = name.toLowerCase();
    if (name === '') throw new InputError(source, line, `header: column ${index + 1} has no name`);
    const first = seen.get(key);
    if (first !== undefined)
      throw new InputError(
        source,
        line,
        `header: column "${name}" named twice (columns ${first + 1} and ${index + 1})`,
      );
    seen.set(key, index);
    if (isKnown(key)) map.known[key] = index;
    else map.vars.push({ name, index });
  });
  checkRequired(map, line, source, autoId);
  return map;
}

function checkRequired(map: ColumnMap, line: number, source: string, autoId: boolean): void {
  if (Object.keys(map.known).length === 0)
    throw new InputError(
      source,
      line,
      'missing header row: the first row names none of the suite columns (id, url, …)',
    );
  if (map.known.url === undefined) throw new InputError(source, line, 'header: no "url" column');
  if (map.known.id === undefined && !autoId)
    throw new InputError(source, line, 'header: no "id" column (add one, or use --auto-id to number rows)');
}

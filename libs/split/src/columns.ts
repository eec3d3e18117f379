import { editDistance, InputError } from '@capi/core';

export { editDistance };

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
  'capture',
  'flow',
  'phase',
] as const;
export type KnownColumn = (typeof KNOWN_COLUMNS)[number];

/** Where each column sits in a row: known columns by name, variables by their header text. */
export interface ColumnMap {
  known: Partial<Record<KnownColumn, number>>;
  /** `declared`: by `--vars-columns` or a `var.` prefix; any other variable must be used by a template. */
  vars: Array<{ name: string; index: number; declared: boolean }>;
  width: number;
}

const isKnown = (name: string): name is KnownColumn => (KNOWN_COLUMNS as readonly string[]).includes(name);

/** The `var.` prefix declares a variable column (`var.region`, used as `{{var.region}}`). */
export const VAR_PREFIX = 'var.';

/**
 * Reads the header row. Names are trimmed and matched without regard to case; a variable
 * keeps its name as written (trimmed), since `{{name}}` templates refer to it.
 * `varsColumns` (`--vars-columns`) declares variables by name, in any case.
 */
export function mapColumns(
  cells: string[],
  line: number,
  source: string,
  autoId = false,
  varsColumns: readonly string[] = [],
): ColumnMap {
  const map: ColumnMap = { known: {}, vars: [], width: cells.length };
  const declared = new Set(varsColumns.map((n) => n.trim().toLowerCase()));
  const seen = new Map<string, number>();
  let typo: string | null = null;
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
    else {
      const isDeclared = declared.has(key) || key.startsWith(VAR_PREFIX);
      map.vars.push({ name, index, declared: isDeclared });
      if (typo === null && !isDeclared && likelyTypo(name)) typo = name;
    }
  });
  checkIsHeader(map, line, source);
  checkDeclared(declared, seen, line, source);
  if (typo !== null) throw new InputError(source, line, typoMessage(typo));
  checkRequired(map, line, source, autoId);
  return map;
}

/** Short columns (id, url, name, body, tags) are left out: too many real variables sit near them. */
const TYPO_MIN_LENGTH = 5;
const TYPO_MAX_DISTANCE = 2;
const RESERVED_PREFIX = 'expect';

/** `-` and spaces read as `_`: `Expect-Status` and `expect status` are compared as `expect_status`. */
const typoKey = (name: string) => name.trim().toLowerCase().replace(/[-\s]/g, '_');

/** The suite column of 5 or more characters nearest to `name`, if it is within two edits. */
export function nearestColumn(name: string): KnownColumn | null {
  const key = typoKey(name);
  let nearest: KnownColumn | null = null;
  let best = TYPO_MAX_DISTANCE + 1;
  for (const column of KNOWN_COLUMNS) {
    if (column.length < TYPO_MIN_LENGTH) continue;
    const d = editDistance(key, column, best);
    if (d < best) {
      best = d;
      nearest = column;
    }
  }
  return nearest;
}

/**
 * A column that is not a suite column becomes a variable, so a misspelt `expected_status`
 * would silently drop its check and the row would pass whatever the answer. A name that is
 * almost certainly meant as a suite column is refused instead: within two edits of one of
 * 5+ characters (`expected_status`, `enabeld`, `expect-body`), or starting with `expect`.
 */
function likelyTypo(name: string): boolean {
  return nearestColumn(name) !== null || typoKey(name).startsWith(RESERVED_PREFIX);
}

function typoMessage(name: string): string {
  const nearest = nearestColumn(name);
  const hint = nearest
    ? `did you mean "${nearest}"?`
    : `names starting with "${RESERVED_PREFIX}" are kept for suite columns`;
  return `column "${name}" is not a suite column; ${hint} (a variable needs another name)`;
}

/** Checked before typos: a first row of data rather than names is best reported as that. */
function checkIsHeader(map: ColumnMap, line: number, source: string): void {
  if (Object.keys(map.known).length === 0)
    throw new InputError(
      source,
      line,
      'missing header row: the first row names none of the suite columns (id, url, …)',
    );
}

/** Every `--vars-columns` name is a variable column of this suite: a misspelt one would declare nothing. */
function checkDeclared(declared: Set<string>, seen: Map<string, number>, line: number, source: string): void {
  for (const name of declared) {
    if (isKnown(name))
      throw new InputError(source, line, `--vars-columns: "${name}" is a suite column, not a variable`);
    if (!seen.has(name)) throw new InputError(source, line, `--vars-columns: the header has no column "${name}"`);
  }
}

function checkRequired(map: ColumnMap, line: number, source: string, autoId: boolean): void {
  if (map.known.url === undefined) throw new InputError(source, line, 'header: no "url" column');
  if (map.known.id === undefined && !autoId)
    throw new InputError(source, line, 'header: no "id" column (add one, or use --auto-id to number rows)');
}

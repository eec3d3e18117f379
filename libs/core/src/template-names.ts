import { editDistance } from './edit-distance.js';

/**
 * The `{{name}}` template grammar (docs/formats.md): capi-split checks the names, capi-exec
 * expands them. A plain lookup: no expressions, no code.
 */
export const TEMPLATE_PATTERN = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The names the templates in `text` use, in order (repeats kept). */
export function templateNames(text: string): string[] {
  if (!text.includes('{{')) return [];
  return Array.from(text.matchAll(TEMPLATE_PATTERN), (m) => m[1] as string);
}

/** The test's own fields, usable in any template. */
export const RECORD_TEMPLATE_NAMES = ['id', 'name'] as const;

/**
 * `{{env.NAME}}` reads the environment at send time (whether NAME is set is checked at run
 * start, not here). New namespaces are added here, and every check learns them.
 */
export const TEMPLATE_NAMESPACES = ['env'] as const;

/**
 * Why a template name names nothing, with the nearest known name; null when it is known:
 * a variable (exactly, case included: capi-exec looks it up so), `id`, `name`, or a name in
 * a namespace.
 */
export function unknownTemplateName(name: string, vars: ReadonlySet<string>): string | null {
  if (vars.has(name) || (RECORD_TEMPLATE_NAMES as readonly string[]).includes(name)) return null;
  const dot = name.indexOf('.');
  if (dot > 0 && (TEMPLATE_NAMESPACES as readonly string[]).includes(name.slice(0, dot)) && dot < name.length - 1)
    return null;
  const near = nearestName(name, [...vars, ...RECORD_TEMPLATE_NAMES]);
  const hint = near === null ? '' : `; did you mean {{${near}}}?`;
  return `template {{${name}}} names no column, variable or namespace${hint}`;
}

/** The known name nearest to `name`: the same but for case, `-`/`_`, or within two edits. */
function nearestName(name: string, known: string[]): string | null {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const folded = known.find((k) => fold(k) === fold(name));
  if (folded !== undefined) return folded;
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

import { editDistance } from './edit-distance.js';
import type { TestRecord } from './records.js';

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
 * `{{env.NAME}}` reads the environment and `{{var.NAME}}` a plain variable of the run
 * (`--var`, `--vars`, or the test's own `var.NAME` column), both at send time: whether they
 * are there is checked at run start, not here. New namespaces are added here, and every
 * check learns them.
 */
export const TEMPLATE_NAMESPACES = ['env', 'var'] as const;

/** The namespace of the run's plain variables: `{{var.region}}` reads `--var region=…`. */
export const RUN_VAR_PREFIX = 'var.';

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

const has = (text: string | null) => text?.includes('{{') === true;

/** Whether a template field of the record (those `templateReferences` reads) holds `{{`. */
function hasTemplates(rec: TestRecord): boolean {
  const { request: r, expect: e } = rec;
  if (has(r.url) || has(r.body) || has(e.status) || has(e.body) || has(e.json)) return true;
  for (const h in r.headers) if (has(r.headers[h] as string)) return true;
  return false;
}

/** A record with no template: one shared empty list, not a new array per record and check. */
const NO_REFERENCES: ReadonlyArray<{ name: string; field: string }> = Object.freeze([]);

/** Every template name of a test record with its field, in the order capi-exec expands them. */
export function templateReferences(rec: TestRecord): ReadonlyArray<{ name: string; field: string }> {
  // Most rows have no template: capi-exec checks every record on every read (issue 16).
  if (!hasTemplates(rec)) return NO_REFERENCES;
  const out: Array<{ name: string; field: string }> = [];
  const add = (text: string | null, field: string) => {
    if (text !== null) for (const name of templateNames(text)) out.push({ name, field });
  };
  add(rec.request.url, 'request.url');
  for (const [h, v] of Object.entries(rec.request.headers)) add(v, `request.headers.${h}`);
  add(rec.request.body, 'request.body');
  add(rec.expect.status, 'expect.status');
  add(rec.expect.body, 'expect.body');
  add(rec.expect.json, 'expect.json');
  return out;
}

/** The first `{{var.NAME}}` of a test that neither its own `var.NAME` column nor the run's `--var`/`--vars` give. */
export function missingRunVar(
  rec: TestRecord,
  runVars: Readonly<Record<string, string>>,
): { name: string; field: string } | null {
  for (const ref of templateReferences(rec)) {
    if (!ref.name.startsWith(RUN_VAR_PREFIX) || Object.hasOwn(rec.vars, ref.name)) continue;
    if (!Object.hasOwn(runVars, ref.name.slice(RUN_VAR_PREFIX.length))) return ref;
  }
  return null;
}

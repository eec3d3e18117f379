/**
 * Plain variables of a run (`--var name=value`, `--vars FILE`): values that are not
 * secrets (a region, an item id), used by `{{name}}` like a suite column and never
 * redacted. A test's own columns win over them. Secrets come from `{{env.NAME}}` instead.
 */

const VAR_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A problem with a variable name, or null; `id`, `name` and `env.*` mean something else in templates. */
function nameProblem(name: string): string | null {
  if (!VAR_NAME.test(name)) return `"${name.slice(0, 40)}" is not a variable name (letters, digits, _ . -)`;
  if (name === 'id' || name === 'name' || name.startsWith('env.'))
    return `"${name}" is not a variable name: {{${name}}} means something else in templates`;
  return null;
}

/** `--var name=value` (repeatable); the message of the first bad one is thrown by the caller. */
export function parseVarFlags(values: readonly string[], into: Record<string, string> = {}): Record<string, string> {
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 1) throw new Error(`--var takes name=value (got "${v.slice(0, 40)}")`);
    const name = v.slice(0, eq).trim();
    const problem = nameProblem(name);
    if (problem) throw new Error(`--var: ${problem}`);
    into[name] = v.slice(eq + 1);
  }
  return into;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v[0] === '"' && v.endsWith('"')) return JSON.parse(v) as string;
  if (v.length >= 2 && v[0] === "'" && v.endsWith("'")) return v.slice(1, -1);
  return v;
}

/**
 * A vars file: a JSON object of strings (numbers and booleans taken as written), or .env
 * lines (`NAME=value`, `export NAME=value`, `#` comments, blank lines, "…" or '…' quotes).
 * Throws `line N: why` (the caller adds the path).
 */
export function parseVarsText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`not JSON: ${(err as Error).message}`);
    }
    for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
      const problem = nameProblem(name);
      if (problem) throw new Error(problem);
      if (typeof value === 'object' || value === undefined)
        throw new Error(`"${name}": a value must be a string, number or boolean`);
      out[name] = String(value);
    }
    return out;
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trim() : line;
    const eq = body.indexOf('=');
    if (eq < 1) throw new Error(`line ${i + 1}: expected NAME=value`);
    const name = body.slice(0, eq).trim();
    const problem = nameProblem(name);
    if (problem) throw new Error(`line ${i + 1}: ${problem}`);
    try {
      out[name] = unquote(body.slice(eq + 1));
    } catch {
      throw new Error(`line ${i + 1}: a bad "…" value`);
    }
  });
  return out;
}

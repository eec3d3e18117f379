/**
 * Deep partial match: the expected JSON must be contained in the actual JSON.
 * - objects: every expected key must be present and match; extra actual keys are fine;
 * - arrays: positional prefix: expected[i] must match actual[i]; actual may be longer;
 * - scalars: strict equality (1 and "1" differ).
 * Returns null on a match, else the path of the first difference.
 */
export interface JsonMismatch {
  path: string;
  expected: unknown;
  actual: unknown;
  missing: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function jsonContains(expected: unknown, actual: unknown, path = '$'): JsonMismatch | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return { path, expected, actual, missing: false };
    for (let i = 0; i < expected.length; i++) {
      if (i >= actual.length) return { path: `${path}[${i}]`, expected: expected[i], actual: undefined, missing: true };
      const m = jsonContains(expected[i], actual[i], `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (isObj(expected)) {
    if (!isObj(actual)) return { path, expected, actual, missing: false };
    for (const key of Object.keys(expected)) {
      const sub = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (!Object.hasOwn(actual, key)) return { path: sub, expected: expected[key], actual: undefined, missing: true };
      const m = jsonContains(expected[key], actual[key], sub);
      if (m) return m;
    }
    return null;
  }
  return expected === actual ? null : { path, expected, actual, missing: false };
}

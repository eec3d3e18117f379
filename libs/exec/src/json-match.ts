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

/** An expected key or element the actual value does not have. */
const MISSING: unique symbol = Symbol('missing');

const keyPath = (path: string, key: string) =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

/**
 * Walks with a stack of its own, not recursion: however deep the two values nest (a
 * response 20,000 levels deep), matching cannot overflow the call stack. Pairs are taken
 * in document order, so the first difference reported is the first one found by reading.
 */
export function jsonContains(expected: unknown, actual: unknown, path = '$'): JsonMismatch | null {
  const stack: Array<[unknown, unknown, string]> = [[expected, actual, path]];
  while (stack.length > 0) {
    const [exp, act, at] = stack.pop() as [unknown, unknown, string];
    if (act === MISSING) return { path: at, expected: exp, actual: undefined, missing: true };
    if (Array.isArray(exp)) {
      if (!Array.isArray(act)) return { path: at, expected: exp, actual: act, missing: false };
      const pairs: Array<[unknown, unknown, string]> = [];
      for (let i = 0; i < exp.length; i++) {
        if (i >= act.length) {
          pairs.push([exp[i], MISSING, `${at}[${i}]`]);
          break;
        }
        pairs.push([exp[i], act[i], `${at}[${i}]`]);
      }
      for (let i = pairs.length - 1; i >= 0; i--) stack.push(pairs[i] as [unknown, unknown, string]);
      continue;
    }
    if (isObj(exp)) {
      if (!isObj(act)) return { path: at, expected: exp, actual: act, missing: false };
      const keys = Object.keys(exp);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push([exp[key], Object.hasOwn(act, key) ? act[key] : MISSING, keyPath(at, key)]);
      }
      continue;
    }
    if (exp !== act) return { path: at, expected: exp, actual: act, missing: false };
  }
  return null;
}

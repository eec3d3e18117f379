export const maxPatchDepth = 64;

export class PatchTooDeep extends Error {}

/**
 * JSON Merge Patch (RFC 7396): objects merge member by member, `null` removes a member,
 * anything else replaces. Members are defined, never assigned, so a `__proto__` key in the
 * patch stays a plain member and cannot reach an object's prototype.
 */
export function mergePatch(target: unknown, patch: unknown, depth = 0): unknown {
  if (!isObject(patch)) return patch;
  if (depth > maxPatchDepth) throw new PatchTooDeep(`patch nested deeper than ${maxPatchDepth}`);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else define(out, key, mergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value, depth + 1));
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

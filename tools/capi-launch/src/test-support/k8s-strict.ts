import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from '@capi/testkit';

/**
 * Test helper: the field names of a manifest checked against the typings kubernetes-models
 * generates from the Kubernetes OpenAPI schema. Its validators accept unknown fields
 * (a misspelt `backoffLimitPerIndx` passes), while kubectl's strict field validation
 * refuses them; this walks the object through the `.d.ts` interfaces and names every
 * field that is not there.
 */
// npm keeps this package's devDependency in its own node_modules or hoists it to the root
const models =
  [join(repoRoot, 'tools/capi-launch/node_modules'), join(repoRoot, 'node_modules')].find((dir) =>
    existsSync(join(dir, 'kubernetes-models')),
  ) ?? join(repoRoot, 'node_modules');

interface Shape {
  props: Map<string, string>;
  imports: Map<string, string>;
}

const shapes = new Map<string, Shape>();

function shapeOf(file: string): Shape {
  const known = shapes.get(file);
  if (known) return known;
  const text = readFileSync(file, 'utf8');
  const head = /export interface \w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)\n\}/.exec(text);
  if (!head) throw new Error(`${file}: no interface`);
  const props = new Map<string, string>();
  if (head[1]?.includes('TypeMeta')) for (const k of ['apiVersion', 'kind']) props.set(k, 'string');
  // a map type spans lines (`"labels"?: {`): it has a name, and nothing to walk into
  for (const m of (head[2] as string).matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm))
    props.set(m[1] as string, m[2] as string);
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    const from = m[2] as string;
    const path = from.startsWith('.') ? resolve(dirname(file), from) : join(models, from);
    imports.set(m[1] as string, `${path.replace(/\.js$/, '')}.d.ts`);
  }
  const shape = { props, imports };
  shapes.set(file, shape);
  return shape;
}

/** `kubernetes-models/batch/v1/Job` → the fields of `value` that its schema does not have, as paths. */
export function unknownFields(value: unknown, model: string, path = '$'): string[] {
  return walk(value, join(models, `${model}.d.ts`), path);
}

function walk(value: unknown, file: string, path: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const shape = shapeOf(file);
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const type = shape.props.get(key);
    if (type === undefined) {
      out.push(`${path}.${key}`);
      continue;
    }
    const name = /^(?:Array<)?(\w+)>?$/.exec(type)?.[1];
    const target = name ? shape.imports.get(name) : undefined;
    if (!target || !existsSync(target)) continue;
    const items = Array.isArray(v)
      ? v.map((x, i) => [x, `${path}.${key}[${i}]`] as const)
      : [[v, `${path}.${key}`] as const];
    for (const [x, p] of items) out.push(...walk(x, target, p));
  }
  return out;
}

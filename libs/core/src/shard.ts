import { UsageError } from './errors.js';

/** FNV-1a, 32 bit: stable across machines and Node versions, so shards agree everywhere. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Shard {
  /** 1-based, as written on the command line. */
  index: number;
  count: number;
}

export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(`${flag} takes K/N with 1 <= K <= N, or auto (got "${text}")`);
  return { index, count };
}

/** The same id always lands in the same shard; every id in exactly one. */
export function inShard(id: string, shard: Shard): boolean {
  return (fnv1a(id) % shard.count) + 1 === shard.index;
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * Where `--shard auto` looks, in this order: the first source with any of its variables
 * set is the one used, and it must be whole and in range. `CAPI_SHARD` comes first, so a
 * workflow can always say what it means; a CI's own variables follow.
 */
interface ShardSource {
  what: string;
  index: string;
  total: string;
  /** 0 when the CI counts from 0 (Kubernetes, CircleCI, Buildkite), 1 when from 1. */
  base: 0 | 1;
}

export const SHARD_SOURCES: readonly ShardSource[] = [
  { what: 'Kubernetes Indexed Job', index: 'JOB_COMPLETION_INDEX', total: 'CAPI_SHARD_TOTAL', base: 0 },
  { what: 'GitLab CI parallel', index: 'CI_NODE_INDEX', total: 'CI_NODE_TOTAL', base: 1 },
  { what: 'CircleCI parallelism', index: 'CIRCLE_NODE_INDEX', total: 'CIRCLE_NODE_TOTAL', base: 0 },
  { what: 'Buildkite parallelism', index: 'BUILDKITE_PARALLEL_JOB', total: 'BUILDKITE_PARALLEL_JOB_COUNT', base: 0 },
];

const set = (env: NodeJS.ProcessEnv, name: string): boolean => (env[name] ?? '').trim() !== '';

function whole(env: NodeJS.ProcessEnv, name: string, flag: string): number {
  const text = (env[name] ?? '').trim();
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} auto: ${name} is not a whole number (got "${text}")`);
  return Number(text);
}

function fromSource(s: ShardSource, env: NodeJS.ProcessEnv, flag: string): Shard {
  for (const name of [s.index, s.total])
    if (!set(env, name))
      throw new UsageError(
        `${flag} auto: ${s.index === name ? s.total : s.index} is set (${s.what}) but ${name} is not`,
      );
  const raw = whole(env, s.index, flag);
  const count = whole(env, s.total, flag);
  if (count < 1) throw new UsageError(`${flag} auto: ${s.total} must be at least 1 (got ${count})`);
  const index = raw + 1 - s.base;
  if (index < 1 || index > count)
    throw new UsageError(
      `${flag} auto: ${s.index}=${raw} is out of range for ${s.total}=${count} (${s.what} counts from ${s.base})`,
    );
  return { index, count };
}

/**
 * `--shard auto`: the shard this CI job or pod is, from the environment (docs/ci.md).
 * Nothing set is a usage error naming every variable looked for.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv, flag = '--shard'): Shard {
  if (set(env, 'CAPI_SHARD')) {
    const text = (env.CAPI_SHARD ?? '').trim();
    const m = /^(\d+)\/(\d+)$/.exec(text);
    if (!m || Number(m[2]) < 1 || Number(m[1]) < 1 || Number(m[1]) > Number(m[2]))
      throw new UsageError(`${flag} auto: CAPI_SHARD takes K/N with 1 <= K <= N (got "${text}")`);
    return { index: Number(m[1]), count: Number(m[2]) };
  }
  const source = SHARD_SOURCES.find((s) => set(env, s.index) || set(env, s.total));
  if (source) return fromSource(source, env, flag);
  const looked = ['CAPI_SHARD', ...SHARD_SOURCES.map((s) => `${s.index}/${s.total}`)].join(', ');
  throw new UsageError(`${flag} auto: no shard in the environment (looked for ${looked})`);
}

/** A `--shard` value: `K/N`, or `auto` to read it from the CI's variables. */
export function shardFlag(text: string, env: NodeJS.ProcessEnv, flag = '--shard'): Shard {
  return text.trim() === 'auto' ? shardFromEnv(env, flag) : parseShard(text, flag);
}

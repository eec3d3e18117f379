import type { Knobs } from './context.js';
import type { ResolvedOptions } from './options.js';

function fromQuery(params: URLSearchParams, key: string, fallback: number, max: number): number {
  const text = params.get(key);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
}

/** Server-wide knobs, overridden per request by query parameters (bad values are ignored). */
export function requestKnobs(options: ResolvedOptions, params: URLSearchParams): Knobs {
  return {
    latencyMs: fromQuery(params, 'latency', options.latencyMs, 60_000),
    jitterMs: fromQuery(params, 'jitter', options.jitterMs, 60_000),
    errorRate: fromQuery(params, 'error', options.errorRate, 1),
    resetRate: fromQuery(params, 'reset', options.resetRate, 1),
    slowBodyMs: fromQuery(params, 'slow', options.slowBodyMs, 60_000),
  };
}

import type { AuthCounters } from './context.js';
import type { ItemStoreCounts } from './item-store.js';

/** One year: the longest token lifetime the option and the `?ttl=` knob accept. */
export const maxTokenTtlS = 365 * 24 * 3600;

export interface DemoApiOptions {
  host?: string;
  port?: number;
  latencyMs?: number;
  jitterMs?: number;
  /** 0..1: share of requests answered 500. */
  errorRate?: number;
  /** 0..1: share of requests whose socket is destroyed without an answer. */
  resetRate?: number;
  /** Drip each body over this many ms. */
  slowBodyMs?: number;
  /** Requests per second allowed (token bucket, whole server); 429 + Retry-After beyond. */
  rateLimit?: number;
  retryAfterS?: number;
  /** Bearer token `/secure` needs; default `process.env.DEMO_TOKEN ?? 'demo-secret'`. */
  token?: string;
  /** Seed for deterministic randomness (error/reset draws, jitter). */
  seed?: number;
  /** Client id `POST /auth/token` accepts; default `process.env.DEMO_CLIENT_ID ?? 'demo-client'`. */
  clientId?: string;
  /** Client secret `POST /auth/token` accepts; default `process.env.DEMO_CLIENT_SECRET ?? 'demo-client-secret'`. */
  clientSecret?: string;
  /** Lifetime of issued tokens in whole seconds (their `expires_in`); default 3600. */
  tokenTtlS?: number;
  /**
   * Called in-process with every token issued, so a test can look for it where it must not be
   * (a run folder, a report). Never reachable over HTTP; the server keeps no list of its own.
   */
  onTokenIssued?: (token: string, expiresInS: number) => void;
}

export interface DemoApiStats {
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  auth: AuthCounters & { tokensHeld: number; tokensEvicted: number };
  secureItems: ItemStoreCounts;
}

export interface DemoApi {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): DemoApiStats;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  latencyMs: number;
  jitterMs: number;
  errorRate: number;
  resetRate: number;
  slowBodyMs: number;
  rateLimit: number;
  retryAfterS: number | null;
  token: string;
  seed: number;
  clientId: string;
  clientSecret: string;
  tokenTtlS: number;
  onTokenIssued: ((token: string, expiresInS: number) => void) | null;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`demo-api: option ${name} must be a number >= 0`);
  return value;
}

function credential(name: string, value: string | undefined, env: string | undefined, fallback: string): string {
  const text = value ?? env ?? fallback;
  if (text === '') throw new RangeError(`demo-api: option ${name} must not be empty`);
  return text;
}

function ttl(value: number | undefined): number {
  if (value === undefined) return 3600;
  if (!Number.isInteger(value) || value < 1 || value > maxTokenTtlS) {
    throw new RangeError(`demo-api: option tokenTtlS must be whole seconds 1..${maxTokenTtlS}`);
  }
  return value;
}

function rate(name: string, value: number | undefined): number {
  const n = nonNegative(name, value, 0);
  if (n > 1) throw new RangeError(`demo-api: option ${name} must be between 0 and 1`);
  return n;
}

export function resolveOptions(opts: DemoApiOptions = {}): ResolvedOptions {
  return {
    host: opts.host ?? '127.0.0.1',
    port: nonNegative('port', opts.port, 0),
    latencyMs: nonNegative('latencyMs', opts.latencyMs, 0),
    jitterMs: nonNegative('jitterMs', opts.jitterMs, 0),
    errorRate: rate('errorRate', opts.errorRate),
    resetRate: rate('resetRate', opts.resetRate),
    slowBodyMs: nonNegative('slowBodyMs', opts.slowBodyMs, 0),
    rateLimit: nonNegative('rateLimit', opts.rateLimit, 0),
    retryAfterS: opts.retryAfterS === undefined ? null : nonNegative('retryAfterS', opts.retryAfterS, 1),
    token: opts.token ?? process.env.DEMO_TOKEN ?? 'demo-secret',
    // Without a seed, draws differ per start, as a real flaky API would.
    seed: opts.seed ?? Math.floor(Math.random() * 2 ** 32),
    clientId: credential('clientId', opts.clientId, process.env.DEMO_CLIENT_ID, 'demo-client'),
    clientSecret: credential('clientSecret', opts.clientSecret, process.env.DEMO_CLIENT_SECRET, 'demo-client-secret'),
    tokenTtlS: ttl(opts.tokenTtlS),
    onTokenIssued: opts.onTokenIssued ?? null,
  };
}

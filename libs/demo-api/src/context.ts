import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ItemStore } from './item-store.js';
import type { ResolvedOptions } from './options.js';
import type { TokenBucket } from './token-bucket.js';
import type { TokenStore } from './token-store.js';

/** Per-request fault knobs: the server options, overridden by `?latency=&jitter=&error=&reset=&slow=`. */
export interface Knobs {
  latencyMs: number;
  jitterMs: number;
  errorRate: number;
  resetRate: number;
  slowBodyMs: number;
}

/** Counters of the token endpoint and of Bearer checks, shown by `/stats`. */
export interface AuthCounters {
  tokensIssued: number;
  /** Refused token requests by RFC 6749 error code. */
  tokenErrors: Record<string, number>;
  /** 401s answered for a Bearer token: none sent, unknown (never issued or pruned), expired. */
  unauthorized: { missing: number; invalid: number; expired: number };
  /** 400s for a Bearer header that is not `Bearer <token68>`. */
  malformed: number;
}

/** What lives as long as the server: counters, buckets, timers to clear on close. */
export interface ServerState {
  options: ResolvedOptions;
  random: () => number;
  requests: number;
  byRoute: Record<string, number>;
  /** Answers by status code (a destroyed socket has none). */
  byStatus: Record<string, number>;
  auth: AuthCounters;
  tokens: TokenStore;
  items: ItemStore;
  globalBucket: TokenBucket | null;
  routeBuckets: Map<number, TokenBucket>;
  flaky: Map<string, number>;
  windows: Map<number, { start: number; count: number }>;
  nextItemId: number;
  timers: Set<NodeJS.Timeout>;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  knobs: Knobs;
  state: ServerState;
}

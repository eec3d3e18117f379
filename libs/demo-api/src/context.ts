import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedOptions } from './options.js';
import type { TokenBucket } from './token-bucket.js';

/** Per-request fault knobs: the server options, overridden by `?latency=&jitter=&error=&reset=&slow=`. */
export interface Knobs {
  latencyMs: number;
  jitterMs: number;
  errorRate: number;
  resetRate: number;
  slowBodyMs: number;
}

/** What lives as long as the server: counters, buckets, timers to clear on close. */
export interface ServerState {
  options: ResolvedOptions;
  random: () => number;
  requests: number;
  byRoute: Record<string, number>;
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

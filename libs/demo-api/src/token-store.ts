import { randomBytes } from 'node:crypto';

/** What a Bearer token is when presented: usable, past its expiry, or never issued (or pruned). */
export type TokenState = 'valid' | 'expired' | 'unknown';

export interface TokenStore {
  /** A new random token that is valid for `ttlMs` from now. */
  issue(ttlMs: number): string;
  check(token: string): TokenState;
  counts(): { held: number; evicted: number };
}

export interface TokenStoreOptions {
  /** Most tokens held at once; past it the oldest one is dropped (and counted as evicted). */
  max?: number;
  /** How long an expired token is still recognised as expired (not unknown) before it is pruned. */
  graceMs?: number;
  /** A monotonic clock in ms (injected by tests). */
  now?: () => number;
}

/**
 * Tokens in a Map kept in issue order, pruned from the front on every issue: with one TTL the
 * oldest token expires first, so pruning costs O(1) per token. A token with a longer TTL (the
 * `?ttl=` knob) at the front holds back shorter ones behind it; `max` still bounds memory.
 */
export function createTokenStore(opts: TokenStoreOptions = {}): TokenStore {
  const max = opts.max ?? 100_000;
  const graceMs = opts.graceMs ?? 60_000;
  const now = opts.now ?? (() => performance.now());
  const expiries = new Map<string, number>();
  let evicted = 0;

  function prune(at: number): void {
    for (const [token, expiresAt] of expiries) {
      if (expiresAt + graceMs > at) break;
      expiries.delete(token);
    }
    while (expiries.size >= max) {
      expiries.delete(expiries.keys().next().value!);
      evicted++;
    }
  }

  return {
    issue(ttlMs) {
      const at = now();
      prune(at);
      // 32 random bytes: unguessable, and base64url is a valid RFC 6750 token68.
      const token = randomBytes(32).toString('base64url');
      expiries.set(token, at + ttlMs);
      return token;
    },
    check(token) {
      const expiresAt = expiries.get(token);
      if (expiresAt === undefined) return 'unknown';
      const at = now();
      if (at < expiresAt) return 'valid';
      if (expiresAt + graceMs <= at) {
        expiries.delete(token);
        return 'unknown';
      }
      return 'expired';
    },
    counts: () => ({ held: expiries.size, evicted }),
  };
}

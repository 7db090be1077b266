import type Redis from 'ioredis';
import { AppError } from '../errors.ts';
import { clientAddress, type PeerServer } from './client-address.ts';

/** Counts hits on a key within a fixed window that starts at the key's first hit. */
export interface RateLimitStore {
  hit(key: string, windowSeconds: number): Promise<{ count: number; resetSeconds: number }>;
  close(): void;
}

export interface RateLimitPolicy {
  /** Named in the RateLimit headers, e.g. "auth-ip". */
  name: string;
  /** Requests allowed per window; 0 turns the policy off. */
  limit: number;
  windowSeconds: number;
}

/** One process's counters, swept once a minute. For a single node or the embedded default. */
export function memoryRateLimitStore(): RateLimitStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [key, window] of windows) if (window.resetAt <= now) windows.delete(key);
  }, 60_000);
  sweeper.unref();
  return {
    async hit(key, windowSeconds) {
      const now = Date.now();
      let window = windows.get(key);
      if (!window || window.resetAt <= now) {
        window = { count: 0, resetAt: now + windowSeconds * 1000 };
        windows.set(key, window);
      }
      window.count++;
      return { count: window.count, resetSeconds: Math.max(1, Math.ceil((window.resetAt - now) / 1000)) };
    },
    close: () => clearInterval(sweeper),
  };
}

// INCR and the expiry in one atomic step, so concurrent nodes share one exact count per window.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

/** Counters shared by every node through Redis. */
export function redisRateLimitStore(redis: Redis, options: { keyPrefix?: string } = {}): RateLimitStore {
  const prefix = options.keyPrefix ?? 'wrapper:ratelimit:';
  return {
    async hit(key, windowSeconds) {
      const [count, ttlMs] = (await redis.eval(
        HIT_SCRIPT,
        1,
        prefix + key,
        String(windowSeconds * 1000),
      )) as [number, number];
      return { count, resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
    },
    close: () => {},
  };
}

export interface RateLimiter {
  /**
   * Counts one request of `subject` under `policy`. Sets the RateLimit headers on `headers`; throws a
   * 429 problem (with Retry-After) past the limit. A store that fails lets the request through.
   */
  check(policy: RateLimitPolicy, subject: string, headers: Record<string, string | number>): Promise<void>;
}

export function createRateLimiter(
  store: RateLimitStore,
  onStoreError: (error: unknown) => void,
): RateLimiter {
  return {
    async check(policy, subject, headers) {
      if (policy.limit <= 0) return;
      let counted: { count: number; resetSeconds: number };
      try {
        counted = await store.hit(`${policy.name}:${subject}`, policy.windowSeconds);
      } catch (error) {
        // Availability over strictness: an unreachable counter store must not take the API down.
        onStoreError(error);
        return;
      }
      const remaining = Math.max(0, policy.limit - counted.count);
      const fields = {
        'ratelimit-policy': `"${policy.name}";q=${policy.limit};w=${policy.windowSeconds}`,
        ratelimit: `"${policy.name}";r=${remaining};t=${counted.resetSeconds}`,
      };
      Object.assign(headers, fields);
      if (counted.count > policy.limit) {
        throw new AppError(
          'rate-limited',
          `Too many requests: ${policy.limit} per ${policy.windowSeconds} s. Retry in ${counted.resetSeconds} s.`,
          {},
          { ...fields, 'retry-after': String(counted.resetSeconds) },
        );
      }
    },
  };
}

/** The limits the API applies, with the limiter that counts them. */
export interface RateLimits {
  limiter: RateLimiter;
  /** Sign-up, sign-in and refresh, per client IP. */
  authPerIp: RateLimitPolicy;
  /** Requests with access tokens, per tenant. */
  perTenant: RateLimitPolicy;
  /** Requests with an API key, per key. */
  perApiKey: RateLimitPolicy;
  trustProxy: boolean;
}

export function rateLimitsFrom(
  limiter: RateLimiter,
  settings: { authPerMinute: number; tenantPerMinute: number; apiKeyPerMinute: number; trustProxy: boolean },
): RateLimits {
  return {
    limiter,
    authPerIp: { name: 'auth-ip', limit: settings.authPerMinute, windowSeconds: 60 },
    perTenant: { name: 'tenant', limit: settings.tenantPerMinute, windowSeconds: 60 },
    perApiKey: { name: 'api-key', limit: settings.apiKeyPerMinute, windowSeconds: 60 },
    trustProxy: settings.trustProxy,
  };
}

/**
 * A `beforeHandle` for public routes that prove or create an identity (sign-up, sign-in, refresh,
 * resets, invitations): counts each request against the per-IP auth limit.
 */
export function limitAuthPerIp(rateLimits: RateLimits) {
  const limit = ({
    request,
    server,
    set,
  }: {
    request: Request;
    server: PeerServer;
    set: { headers: Record<string, string | number> };
  }) =>
    rateLimits.limiter.check(
      rateLimits.authPerIp,
      clientAddress(request, server, rateLimits.trustProxy) ?? 'unknown',
      set.headers,
    );
  authLimitsPerIp.add(limit);
  return limit;
}

// So that the API document can say which routes may answer 429 without each route repeating it.
const authLimitsPerIp = new WeakSet<object>();

/** Whether a route hook is a `limitAuthPerIp` check. */
export const isAuthLimitPerIp = (hook: unknown): boolean =>
  typeof hook === 'function' && authLimitsPerIp.has(hook);

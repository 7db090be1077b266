import type Redis from 'ioredis';
import type { Database, RequestContext } from './client.ts';

/**
 * Remembers access checks that passed, so a repeated request skips `require_access` (about half of a
 * simple read's database work). Entries live under a per-tenant generation: anything that changes
 * access in a tenant (roles, grants, membership, a session or key ending, suspension, an organization
 * moving) bumps the generation after it commits, and every earlier entry of that tenant stops counting
 * on every node at once. Only passes are remembered; refusals are always decided by Postgres.
 */
export interface AccessCacheStore {
  readonly kind: 'memory' | 'redis';
  /** The tenant's current generation and whether `entry` passed under it. */
  lookup(tenantId: string, entry: string): Promise<{ generation: string; hit: boolean }>;
  remember(tenantId: string, generation: string, entry: string, ttlMs: number): Promise<void>;
  /** Forgets every remembered check of these tenants. */
  invalidate(tenantIds: readonly string[]): Promise<void>;
  close(): void;
}

/** How long a remembered pass counts at most; bounds how late a session's absolute end can be noticed. */
export const ACCESS_CACHE_TTL_MS = 30_000;
const MEMORY_ENTRIES_MAX = 100_000;

/**
 * In-process store, for the embedded default only: one process owns the data folder, so a bump here is
 * seen by every request at once. With Postgres, several nodes may share the data: use Redis, or none.
 */
export function memoryAccessCacheStore(): AccessCacheStore {
  const generations = new Map<string, number>();
  const entries = new Map<string, number>();
  const keyOf = (tenantId: string, generation: string, entry: string) => `${tenantId}:${generation}:${entry}`;
  return {
    kind: 'memory',
    async lookup(tenantId, entry) {
      const generation = String(generations.get(tenantId) ?? 0);
      const key = keyOf(tenantId, generation, entry);
      const expiresAt = entries.get(key);
      if (expiresAt === undefined) return { generation, hit: false };
      if (expiresAt <= Date.now()) {
        entries.delete(key);
        return { generation, hit: false };
      }
      return { generation, hit: true };
    },
    async remember(tenantId, generation, entry, ttlMs) {
      if (String(generations.get(tenantId) ?? 0) !== generation) return;
      if (entries.size >= MEMORY_ENTRIES_MAX) entries.clear();
      entries.set(keyOf(tenantId, generation, entry), Date.now() + ttlMs);
    },
    async invalidate(tenantIds) {
      for (const tenantId of tenantIds) generations.set(tenantId, (generations.get(tenantId) ?? 0) + 1);
    },
    close() {
      entries.clear();
    },
  };
}

/**
 * Redis store: one MGET per lookup reads the tenant's generation and the entry, which holds the
 * generation it was checked under (so a pass remembered after a bump never matches).
 */
export function redisAccessCacheStore(redis: Redis, prefix = 'wr:access:'): AccessCacheStore {
  const generationKey = (tenantId: string) => `${prefix}gen:${tenantId}`;
  const entryKey = (tenantId: string, entry: string) => `${prefix}${tenantId}:${entry}`;
  return {
    kind: 'redis',
    async lookup(tenantId, entry) {
      const [generation, remembered] = await redis.mget(generationKey(tenantId), entryKey(tenantId, entry));
      const current = generation ?? '0';
      return { generation: current, hit: remembered === current };
    },
    async remember(tenantId, generation, entry, ttlMs) {
      await redis.set(entryKey(tenantId, entry), generation, 'PX', Math.max(1, Math.floor(ttlMs)));
    },
    async invalidate(tenantIds) {
      if (tenantIds.length === 0) return;
      const pipeline = redis.pipeline();
      for (const tenantId of new Set(tenantIds)) pipeline.incr(generationKey(tenantId));
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    },
    close() {},
  };
}

/** The remembered check a request context stands for, or null when it cannot be remembered. */
function entryOf(context: RequestContext): string | null {
  if (!context.access || !context.tenantId || !context.userId) return null;
  const credential = context.apiKeyId
    ? `k:${context.apiKeyId}`
    : context.sessionId
      ? `s:${context.sessionId}`
      : null;
  if (!credential) return null;
  const { permission, organizationId } = context.access;
  return `${credential}:${context.userId}:${permission ?? '-'}:${organizationId ?? '-'}`;
}

/**
 * The database with remembered access checks. A store failure never refuses a request: the check then
 * runs in Postgres. A failed invalidation is reported to `onError` and raised, so the change that
 * caused it is not reported as done while stale passes may remain.
 */
export function withAccessCache(
  database: Database,
  store: AccessCacheStore,
  onError: (error: unknown) => void,
): Database {
  async function checked<T>(
    context: RequestContext,
    run: (context: RequestContext) => Promise<T>,
  ): Promise<T> {
    const entry = entryOf(context);
    const tenantId = context.tenantId;
    if (entry === null || tenantId === undefined) return run(context);
    const expiresAt = context.credentialExpiresAt;
    const ttlMs = Math.min(ACCESS_CACHE_TTL_MS, expiresAt === undefined ? Infinity : expiresAt - Date.now());
    let generation: string | null = null;
    if (ttlMs > 0) {
      try {
        const found = await store.lookup(tenantId, entry);
        if (found.hit) return run({ ...context, access: undefined });
        generation = found.generation;
      } catch (error) {
        onError(error);
      }
    }
    const result = await run(context);
    if (generation !== null) store.remember(tenantId, generation, entry, ttlMs).catch(onError);
    return result;
  }

  return {
    ...database,
    kind: database.kind,
    owner: database.owner,
    transaction: (context, fn) => checked(context, (effective) => database.transaction(effective, fn)),
    statement: (context, build) => checked(context, (effective) => database.statement(effective, build)),
    run: (context, statement, values) =>
      checked(context, (effective) => database.run(effective, statement, values)),
    // A remembered pass answers without a round trip.
    checkAccess: (context) =>
      checked(context, async (effective) => {
        if (effective.access) await database.checkAccess(effective);
      }),
    async invalidateAccess(tenantIds) {
      try {
        await store.invalidate(tenantIds);
      } catch (error) {
        onError(error);
        throw error;
      }
    },
    listen: (channel, onNotify) => database.listen(channel, onNotify),
    ping: () => database.ping(),
    async close() {
      store.close();
      await database.close();
    },
  };
}

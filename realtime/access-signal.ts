import type Redis from 'ioredis';
import type { Database } from '../db/client.ts';

/**
 * "Access changed in these tenants", told to every node right after the change commits (a session ended,
 * a key revoked, a role edited, a tenant suspended...), so realtime gateways re-check those tenants'
 * sockets at once instead of at their periodic check. Best effort: a node that misses a signal still
 * re-checks every socket periodically.
 */
export interface AccessSignal {
  publish(tenantIds: readonly string[]): Promise<void>;
  subscribe(listener: (tenantIds: string[]) => void): () => void;
  close(): void;
}

export function memoryAccessSignal(): AccessSignal {
  const listeners = new Set<(tenantIds: string[]) => void>();
  return {
    async publish(tenantIds) {
      for (const listener of listeners) listener([...tenantIds]);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
    },
  };
}

/** Redis pub/sub: one channel, a JSON array of tenant ids per message. */
export function redisAccessSignal(redis: Redis, channel = 'wr:access-changed'): AccessSignal {
  const listeners = new Set<(tenantIds: string[]) => void>();
  let subscriber: Redis | null = null;
  return {
    async publish(tenantIds) {
      if (tenantIds.length > 0) await redis.publish(channel, JSON.stringify(tenantIds));
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!subscriber) {
        subscriber = redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
        subscriber.on('error', () => {});
        subscriber.on('message', (_channel: string, message: string) => {
          let tenantIds: unknown;
          try {
            tenantIds = JSON.parse(message);
          } catch {
            return;
          }
          if (!Array.isArray(tenantIds)) return;
          for (const each of listeners) each(tenantIds.filter((id): id is string => typeof id === 'string'));
        });
        void subscriber.subscribe(channel).catch(() => {});
      }
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      subscriber?.disconnect();
      subscriber = null;
    },
  };
}

/**
 * The database whose `invalidateAccess` (called after every change that takes access away) also tells
 * the other nodes. A signal that cannot be sent is reported and does not fail the change.
 */
export function withAccessSignal(
  database: Database,
  signal: AccessSignal,
  onError: (error: unknown) => void,
): Database {
  return {
    ...database,
    kind: database.kind,
    owner: database.owner,
    transaction: (context, fn) => database.transaction(context, fn),
    statement: (context, build) => database.statement(context, build),
    run: (context, statement, values) => database.run(context, statement, values),
    checkAccess: (context) => database.checkAccess(context),
    listen: (channel, onNotify) => database.listen(channel, onNotify),
    ping: () => database.ping(),
    close: () => database.close(),
    async invalidateAccess(tenantIds) {
      await database.invalidateAccess(tenantIds);
      await signal.publish(tenantIds).catch(onError);
    },
  };
}

import type Redis from 'ioredis';
import type { EventEnvelope } from './events.ts';

/**
 * Where committed events go after the outbox: the relay appends them, in seq order per tenant.
 * - `subscribe`: every node sees every event (the realtime gateway fans them out to its sockets);
 * - `consume`: a consumer group shares the events among its consumers, each handled once and
 *   acknowledged; a failing event is retried, and parked after `maxDeliveries`.
 * Delivery is at least once: consumers drop what they have seen by (tenantId, seq).
 */
export interface EventBus {
  readonly kind: 'memory' | 'redis';
  append(events: readonly EventEnvelope[]): Promise<void>;
  subscribe(listener: (event: EventEnvelope) => void): () => void;
  /** Resolves once subscribers receive every event appended from now on. */
  subscribed(): Promise<void>;
  consume(
    group: string,
    handler: (event: EventEnvelope) => Promise<void>,
    options?: ConsumeOptions,
  ): Consumer;
  /** Events parked by a group after too many failed deliveries. */
  parked(group: string): Promise<ParkedEvent[]>;
  /** Entries held by the bus (the Redis stream's length; 0 in process). */
  length(): Promise<number>;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  /** This consumer's name within the group (default: a random one). */
  consumer?: string;
  /** Failed deliveries before an event is parked. @default 5 */
  maxDeliveries?: number;
  /** An entry unacknowledged this long is taken over from its (dead) consumer. @default 30000 */
  reclaimIdleMs?: number;
  /** Wait before retrying a failed event. @default 1000 */
  retryDelayMs?: number;
}

export interface Consumer {
  stop(): Promise<void>;
}

/**
 * A reader of the event log that needs every event once in effect (webhooks, notifications, shipping).
 * Features export theirs; the runtime (`server/runtime.ts`) lists them and runs each as a consumer group
 * on every node, so an event goes to one node; delivery is at least once, so the handler drops what it
 * has already done by (tenantId, seq).
 */
export interface BusConsumer {
  name: string;
  group: string;
  handle(event: EventEnvelope, signal: AbortSignal): Promise<void>;
  options?: Omit<ConsumeOptions, 'consumer'>;
}

export interface ParkedEvent {
  event: EventEnvelope;
  deliveries: number;
  error: string;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

/** The embedded default: events pass from the relay to listeners and groups within the process. */
export function memoryEventBus(): EventBus {
  const listeners = new Set<(event: EventEnvelope) => void>();
  const groups = new Map<string, Set<(event: EventEnvelope) => void>>();
  const parkedByGroup = new Map<string, ParkedEvent[]>();
  let closed = false;

  return {
    kind: 'memory',
    async append(events) {
      if (closed) throw new Error('the event bus is closed');
      for (const event of events) {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch {
            // A listener's failure is its own; the others still get the event.
          }
        }
        for (const members of groups.values()) {
          // One consumer of the group handles it: the first one (in process, all are alike).
          const [first] = members;
          first?.(event);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async subscribed() {},
    consume(group, handler, options = {}) {
      const maxDeliveries = options.maxDeliveries ?? 5;
      const retryDelayMs = options.retryDelayMs ?? 1000;
      let stopped = false;
      // Per group, one event at a time and in order, like a consumer reading its stream.
      let chain = Promise.resolve();
      const deliver = (event: EventEnvelope) => {
        chain = chain.then(async () => {
          for (let attempt = 1; !stopped; attempt++) {
            try {
              await handler(event);
              return;
            } catch (error) {
              if (attempt >= maxDeliveries) {
                const parked = parkedByGroup.get(group) ?? [];
                parked.push({ event, deliveries: attempt, error: errorText(error) });
                parkedByGroup.set(group, parked);
                return;
              }
              await Bun.sleep(retryDelayMs);
            }
          }
        });
      };
      const members = groups.get(group) ?? new Set();
      members.add(deliver);
      groups.set(group, members);
      return {
        async stop() {
          stopped = true;
          members.delete(deliver);
          await chain;
        },
      };
    },
    async parked(group) {
      return [...(parkedByGroup.get(group) ?? [])];
    },
    async length() {
      return 0;
    },
    async close() {
      closed = true;
      listeners.clear();
      groups.clear();
    },
  };
}

type StreamEntry = [id: string, fields: string[]];

function envelopeOf(fields: string[]): EventEnvelope | null {
  const index = fields.indexOf('event');
  const raw = index >= 0 ? fields[index + 1] : undefined;
  if (!raw) return null;
  try {
    return JSON.parse(raw) as EventEnvelope;
  } catch {
    return null;
  }
}

export interface RedisBusOptions {
  /** Stream key. @default 'wr:events' */
  stream?: string;
  /** Entries kept (approximately); older ones are trimmed. The events table keeps everything. */
  maxLength?: number;
  /** How long a blocking read waits before looking again. @default 1000 */
  blockMs?: number;
}

/**
 * Redis Streams: the relay XADDs (trimmed to about `maxLength`); subscribers XREAD from the live end on
 * their own connection; consumer groups XREADGROUP, XACK, take over entries idle with a dead consumer
 * (XAUTOCLAIM) and park an entry after too many deliveries (to `<stream>:parked:<group>`).
 */
export function redisEventBus(redis: Redis, options: RedisBusOptions = {}): EventBus {
  const stream = options.stream ?? 'wr:events';
  const maxLength = options.maxLength ?? 100_000;
  const blockMs = options.blockMs ?? 1000;
  const readers = new Set<Redis>();
  const listeners = new Set<(event: EventEnvelope) => void>();
  const stoppers = new Set<() => Promise<void>>();
  let subscription: Promise<void> | null = null;
  let closed = false;

  function reader(): Redis {
    // Blocking reads hold their connection: each loop gets its own.
    const connection = redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    connection.on('error', () => {});
    readers.add(connection);
    return connection;
  }

  /** The live end, pinned once: every entry after it is read, none skipped between two reads. */
  async function liveEnd(connection: Redis): Promise<string> {
    for (;;) {
      try {
        const [latest] = (await connection.xrevrange(stream, '+', '-', 'COUNT', 1)) as StreamEntry[];
        return latest?.[0] ?? '0-0';
      } catch (error) {
        if (closed) throw error;
        await Bun.sleep(200);
      }
    }
  }

  async function fanOut(connection: Redis, start: string) {
    let lastId = start;
    while (!closed) {
      try {
        const answer = (await connection.xread(
          'COUNT',
          500,
          'BLOCK',
          blockMs,
          'STREAMS',
          stream,
          lastId,
        )) as Array<[string, StreamEntry[]]> | null;
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const event = envelopeOf(fields);
            if (!event) continue;
            for (const listener of listeners) {
              try {
                listener(event);
              } catch {
                // A listener's failure is its own.
              }
            }
          }
        }
      } catch {
        if (closed) return;
        await Bun.sleep(200);
      }
    }
  }

  return {
    kind: 'redis',
    async append(events) {
      if (events.length === 0) return;
      const pipeline = redis.pipeline();
      for (const event of events) {
        pipeline.xadd(
          stream,
          'MAXLEN',
          '~',
          maxLength,
          '*',
          'tenant',
          event.tenantId,
          'seq',
          String(event.seq),
          'type',
          event.type,
          'event',
          JSON.stringify(event),
        );
      }
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    },

    subscribe(listener) {
      listeners.add(listener);
      if (!subscription) {
        const connection = reader();
        subscription = liveEnd(connection).then((start) => {
          void fanOut(connection, start);
        });
      }
      return () => listeners.delete(listener);
    },

    async subscribed() {
      await subscription;
    },

    consume(group, handler, consumeOptions = {}) {
      const consumer = consumeOptions.consumer ?? `consumer-${crypto.randomUUID().slice(0, 8)}`;
      const maxDeliveries = consumeOptions.maxDeliveries ?? 5;
      const reclaimIdleMs = consumeOptions.reclaimIdleMs ?? 30_000;
      const retryDelayMs = consumeOptions.retryDelayMs ?? 1000;
      const connection = reader();
      let stopped = false;
      let groupReady = false;

      /** The group reads what is appended after it was first created (a restarted Redis starts over). */
      async function ensureGroup() {
        if (groupReady) return;
        try {
          await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
        } catch (error) {
          if (!String(error).includes('BUSYGROUP')) throw error;
        }
        groupReady = true;
      }

      async function park(id: string, event: EventEnvelope | null, deliveries: number, error: string) {
        await redis
          .multi()
          .xadd(
            `${stream}:parked:${group}`,
            '*',
            'id',
            id,
            'deliveries',
            String(deliveries),
            'error',
            error,
            'event',
            event ? JSON.stringify(event) : '',
          )
          .xack(stream, group, id)
          .exec();
      }

      async function handle(id: string, fields: string[], deliveries: number) {
        const event = envelopeOf(fields);
        if (!event) {
          await park(id, null, deliveries, 'unreadable entry');
          return;
        }
        try {
          await handler(event);
          await redis.xack(stream, group, id);
        } catch (error) {
          // Left pending: taken up again by the reclaim below, until it is parked.
          if (deliveries >= maxDeliveries) await park(id, event, deliveries, errorText(error));
        }
      }

      async function deliveriesOf(id: string): Promise<number> {
        const [entry] = (await redis.xpending(stream, group, id, id, 1)) as Array<
          [string, string, number, number]
        >;
        return entry?.[3] ?? 1;
      }

      async function reclaim() {
        // Entries failed here, or left by a consumer that died, once idle long enough.
        const minIdle = Math.min(reclaimIdleMs, retryDelayMs);
        const [, entries] = (await redis.xautoclaim(
          stream,
          group,
          consumer,
          minIdle,
          '0-0',
          'COUNT',
          100,
        )) as [string, StreamEntry[]];
        for (const [id, fields] of entries ?? []) {
          if (stopped) return;
          if (!fields) continue;
          await handle(id, fields, await deliveriesOf(id));
        }
      }

      const loop = (async () => {
        let lastReclaim = 0;
        while (!stopped) {
          try {
            await ensureGroup();
            const answer = (await connection.xreadgroup(
              'GROUP',
              group,
              consumer,
              'COUNT',
              100,
              'BLOCK',
              Math.min(blockMs, retryDelayMs),
              'STREAMS',
              stream,
              '>',
            )) as Array<[string, StreamEntry[]]> | null;
            for (const [, entries] of answer ?? []) {
              for (const [id, fields] of entries) {
                if (stopped) break;
                await handle(id, fields, 1);
              }
            }
            if (Date.now() - lastReclaim >= Math.min(reclaimIdleMs, retryDelayMs)) {
              lastReclaim = Date.now();
              await reclaim();
            }
          } catch (error) {
            if (stopped) return;
            if (String(error).includes('NOGROUP')) groupReady = false;
            await Bun.sleep(200);
          }
        }
      })();

      const stop = async () => {
        stopped = true;
        connection.disconnect();
        readers.delete(connection);
        await loop;
      };
      stoppers.add(stop);
      return {
        async stop() {
          stoppers.delete(stop);
          await stop();
        },
      };
    },

    async parked(group) {
      const entries = (await redis.xrange(`${stream}:parked:${group}`, '-', '+')) as StreamEntry[];
      return entries.flatMap(([, fields]) => {
        const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
        const event = envelopeOf(fields);
        return event ? [{ event, deliveries: Number(field('deliveries')), error: field('error') }] : [];
      });
    },

    async length() {
      return redis.xlen(stream);
    },

    async close() {
      closed = true;
      await Promise.all([...stoppers].map((stop) => stop()));
      for (const connection of readers) connection.disconnect();
      readers.clear();
      listeners.clear();
      await subscription?.catch(() => {});
      subscription = null;
    },
  };
}

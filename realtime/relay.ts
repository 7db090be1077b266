import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../db/client.ts';
import { selectRows } from '../db/client.ts';
import { type EventRow, eventRelayPositions, events } from '../db/schema/index.ts';
import type { EventBus } from './bus.ts';
import type { EventEnvelope, EventType } from './events.ts';

export function toEnvelope(row: EventRow): EventEnvelope {
  return {
    id: row.id,
    seq: row.seq,
    type: row.type as EventType,
    version: row.version,
    tenantId: row.tenantId,
    occurredAt: row.occurredAt.toISOString(),
    actor: row.actor as EventEnvelope['actor'],
    data: row.data as EventEnvelope['data'],
  };
}

export interface RelayLag {
  /** Committed events not yet on the bus, over all tenants. */
  events: number;
  tenants: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  oldestSeconds: number;
}

export interface Relay {
  start(): Promise<void>;
  /** Moves whatever is committed and not yet relayed now (tests, shutdown). */
  drain(): Promise<void>;
  lag(): Promise<RelayLag>;
  stop(): Promise<void>;
}

export interface RelayOptions {
  database: Database;
  bus: EventBus;
  onError?: (error: unknown) => void;
  /** A full look for pending tenants this often, besides notifications. @default 1000 */
  pollMs?: number;
  /** Events moved per tenant per transaction. @default 500 */
  batchSize?: number;
}

const RELAY = { role: 'app_relay' } as const;

/**
 * Moves committed events from the outbox to the bus, in seq order per tenant, at least once. Woken by
 * the NOTIFY that `publish_event` sends on commit, and by a poll (a notification can be lost while the
 * listening connection reconnects). Every node may run one: a tenant is relayed under a lock on its
 * position row, so two relays never interleave one tenant's events; the position only moves after the
 * bus took the events, so a relay killed mid-batch resends (consumers drop duplicates by seq).
 */
export function createRelay(options: RelayOptions): Relay {
  const { database, bus } = options;
  const pollMs = options.pollMs ?? 1000;
  const batchSize = options.batchSize ?? 500;
  const dirty = new Set<string>();
  let fullScanDue = true;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = true;
  let timer: ReturnType<typeof setInterval> | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let draining = false;

  /** Tenants with committed events beyond their relayed position (all, or among `only`). */
  async function pendingTenants(only: string[] | null): Promise<string[]> {
    const rows = await database.transaction(RELAY, (db) =>
      selectRows<{ tenant_id: string }>(
        db,
        sql`select s.tenant_id from event_sequences s
            left join event_relay_positions p on p.tenant_id = s.tenant_id
            where s.last_seq > coalesce(p.relayed_seq, 0)
            ${only ? sql`and s.tenant_id = any(${`{${only.join(',')}}`}::uuid[])` : sql``}
            limit 1000`,
      ),
    );
    return rows.map((row) => row.tenant_id);
  }

  /** Relays one tenant until it is caught up (or another relay holds it). */
  async function relayTenant(tenantId: string): Promise<void> {
    for (;;) {
      const moved = await database.transaction(RELAY, async (db: ScopedDb) => {
        await db.insert(eventRelayPositions).values({ tenantId, relayedSeq: 0 }).onConflictDoNothing();
        const [position] = await selectRows<{ relayed_seq: string | number }>(
          db,
          sql`select relayed_seq from event_relay_positions where tenant_id = ${tenantId} for update skip locked`,
        );
        // Another relay is moving this tenant right now; it will catch up.
        if (!position) return 0;
        const rows = await db
          .select()
          .from(events)
          .where(and(eq(events.tenantId, tenantId), gt(events.seq, Number(position.relayed_seq))))
          .orderBy(asc(events.seq))
          .limit(batchSize);
        const last = rows.at(-1);
        if (!last) return 0;
        await bus.append(rows.map(toEnvelope));
        await db
          .update(eventRelayPositions)
          .set({ relayedSeq: last.seq, updatedAt: new Date() })
          .where(eq(eventRelayPositions.tenantId, tenantId));
        return rows.length;
      });
      if (moved < batchSize) return;
    }
  }

  async function runOnce(): Promise<void> {
    const full = fullScanDue;
    fullScanDue = false;
    const only = full ? null : [...dirty];
    dirty.clear();
    if (only && only.length === 0) return;
    const tenants = await pendingTenants(only);
    for (const tenantId of tenants) {
      if (stopped && !draining) return;
      await relayTenant(tenantId);
    }
  }

  /** One run at a time; a wake-up during a run schedules one more. */
  function schedule(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await runOnce();
        } catch (error) {
          // Nothing was lost: the positions did not move. Look at everything again next time.
          fullScanDue = true;
          options.onError?.(error);
          if (!stopped) await Bun.sleep(Math.min(pollMs, 500));
        }
      } while (again && (!stopped || draining));
    })().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      try {
        unlisten = await database.listen('wr_events', (tenantId) => {
          if (tenantId) dirty.add(tenantId);
          void schedule();
        });
      } catch (error) {
        // Polling still moves everything, a little later.
        options.onError?.(error);
      }
      timer = setInterval(() => {
        fullScanDue = true;
        void schedule();
      }, pollMs);
      fullScanDue = true;
      void schedule();
    },

    async drain() {
      draining = true;
      try {
        await running;
        fullScanDue = true;
        await schedule();
      } finally {
        draining = false;
      }
    },

    async lag() {
      const [row] = await database.transaction(RELAY, (db) =>
        selectRows<{ events: string | number; tenants: string | number; oldest: string | number | null }>(
          db,
          sql`select coalesce(sum(s.last_seq - coalesce(p.relayed_seq, 0)), 0) as events,
                     count(*) as tenants,
                     (select extract(epoch from now() - min(e.occurred_at)) from events e
                      join event_sequences s2 on s2.tenant_id = e.tenant_id
                      left join event_relay_positions p2 on p2.tenant_id = e.tenant_id
                      where e.seq > coalesce(p2.relayed_seq, 0)) as oldest
              from event_sequences s
              left join event_relay_positions p on p.tenant_id = s.tenant_id
              where s.last_seq > coalesce(p.relayed_seq, 0)`,
        ),
      );
      return {
        events: Number(row?.events ?? 0),
        tenants: Number(row?.tenants ?? 0),
        oldestSeconds: Math.max(0, Number(row?.oldest ?? 0)),
      };
    },

    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await unlisten?.().catch(() => {});
      unlisten = null;
      await running?.catch(() => {});
    },
  };
}

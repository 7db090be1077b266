import { eq, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../db/client.ts';
import { selectRows } from '../db/client.ts';
import { type EventRow, eventRelayPositions } from '../db/schema/index.ts';
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

/** An event as a raw SQL select of `events` answers it (snake case; bigints and JSON maybe as text). */
export type RawEventRow = {
  tenant_id: string;
  seq: string | number;
  id: string;
  type: string;
  version: number;
  occurred_at: string | Date;
  actor: unknown;
  data: unknown;
};

const parsedJson = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

export function envelopeOfRaw(row: RawEventRow): EventEnvelope {
  return toEnvelope({
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    id: row.id,
    type: row.type,
    version: Number(row.version),
    occurredAt: new Date(row.occurred_at),
    actor: parsedJson(row.actor),
    data: parsedJson(row.data),
  } as EventRow);
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
  let stopCommitted: (() => void) | null = null;
  let draining = false;

  /** Tenants with committed events beyond their relayed position. */
  async function pendingTenants(): Promise<string[]> {
    const rows = await database.transaction(RELAY, (db) =>
      selectRows<{ tenant_id: string }>(
        db,
        sql`select s.tenant_id from event_sequences s
            left join event_relay_positions p on p.tenant_id = s.tenant_id
            where s.last_seq > coalesce(p.relayed_seq, 0)
            limit 1000`,
      ),
    );
    return rows.map((row) => row.tenant_id);
  }

  /**
   * One batch of a tenant under its position row's lock, in one query: the events past the position, or
   * nothing when there are none or another relay holds the row. A tenant's first batch creates the row.
   */
  async function relayBatch(db: ScopedDb, tenantId: string): Promise<number> {
    const batch = () =>
      selectRows<RawEventRow>(
        db,
        sql`select e.tenant_id, e.seq, e.id, e.type, e.version, e.occurred_at, e.actor, e.data
            from event_relay_positions p
            join events e on e.tenant_id = p.tenant_id and e.seq > p.relayed_seq
            where p.tenant_id = ${tenantId}
            order by e.seq
            limit ${batchSize}
            for update of p skip locked`,
      );
    let rows = await batch();
    if (rows.length === 0) {
      const created = await db
        .insert(eventRelayPositions)
        .values({ tenantId, relayedSeq: 0 })
        .onConflictDoNothing()
        .returning({ tenantId: eventRelayPositions.tenantId });
      if (created.length === 0) return 0;
      rows = await batch();
    }
    const last = rows.at(-1);
    if (!last) return 0;
    const envelopes = rows.map(envelopeOfRaw);
    await placeInAuditFeed(db, tenantId, envelopes);
    await bus.append(envelopes);
    await db
      .update(eventRelayPositions)
      .set({ relayedSeq: Number(last.seq), updatedAt: new Date() })
      .where(eq(eventRelayPositions.tenantId, tenantId));
    return rows.length;
  }

  /**
   * Gives each `audit.recorded` event of the batch its place in the cross-tenant audit feed. One relay
   * at a time (a lock held until this transaction commits, after the bus took the batch), so positions
   * become visible in increasing order and `admin:audit` can resume after one without a gap.
   */
  async function placeInAuditFeed(db: ScopedDb, tenantId: string, envelopes: EventEnvelope[]) {
    const audit = envelopes.filter((envelope) => envelope.type === 'audit.recorded');
    if (audit.length === 0) return;
    await db.execute(sql`select pg_advisory_xact_lock(hashtext('wrapper:audit-feed'))`);
    const placed = await selectRows<{ position: string | number; event_seq: string | number }>(
      db,
      sql`insert into audit_feed (tenant_id, event_seq)
          select ${tenantId}::uuid, seq from unnest(${`{${audit.map((event) => event.seq).join(',')}}`}::bigint[])
            with ordinality as placed(seq, n)
          order by n
          returning position, event_seq`,
    );
    const positions = new Map(placed.map((row) => [Number(row.event_seq), Number(row.position)]));
    for (const envelope of audit) envelope.auditPosition = positions.get(envelope.seq);
  }

  /** Relays one tenant until it is caught up (or another relay holds it). */
  async function relayTenant(tenantId: string): Promise<void> {
    for (;;) {
      const moved = await database.transaction(RELAY, (db: ScopedDb) => relayBatch(db, tenantId));
      if (moved < batchSize) return;
    }
  }

  async function runOnce(): Promise<void> {
    const full = fullScanDue;
    fullScanDue = false;
    const only = full ? null : [...dirty];
    dirty.clear();
    if (only && only.length === 0) return;
    // Notified tenants are tried directly (an empty batch costs what a look for pending ones would).
    const tenants = only ?? (await pendingTenants());
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
      // Events committed by this process wake the relay at once; other processes' by NOTIFY or the poll.
      stopCommitted = database.onEventsCommitted((tenantId) => {
        dirty.add(tenantId);
        void schedule();
      });
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
      stopCommitted?.();
      stopCommitted = null;
      await running?.catch(() => {});
    },
  };
}

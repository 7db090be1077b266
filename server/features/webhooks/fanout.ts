import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { type Database, selectRows } from '../../../db/client.ts';
import {
  events,
  webhookCursors,
  webhookDeliveries,
  webhookEndpoints,
  webhookMessages,
} from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { toEnvelope } from '../../../realtime/relay.ts';
import { endpointWants } from './event-types.ts';

/** Events fanned out per tenant per transaction. */
const FANOUT_BATCH = 500;

/**
 * Turns the tenant's events after its fan-out cursor into deliveries, one per (event, endpoint that wants
 * it), in one transaction holding the cursor row: two nodes never fan out one tenant at once, and an
 * event is fanned out once however often the bus brings it (at least once in, exactly once in effect).
 * The log, not the bus, is read, so an event the bus lost is fanned out all the same. `seenSeq`: the
 * event that woke this up; nothing to do when the cursor is already past it.
 */
export async function fanOut(
  database: Database,
  tenantId: string,
  seenSeq?: number,
): Promise<{ deliveries: number; more: boolean; cursor: number | null }> {
  return withTenant(database, tenantId, async (db) => {
    const [cursor] = await db
      .select({ lastSeq: webhookCursors.lastSeq })
      .from(webhookCursors)
      .where(eq(webhookCursors.tenantId, tenantId))
      .for('update');
    if (!cursor) return { deliveries: 0, more: false, cursor: null };
    if (seenSeq !== undefined && cursor.lastSeq >= seenSeq) {
      return { deliveries: 0, more: false, cursor: cursor.lastSeq };
    }
    const rows = await db
      .select()
      .from(events)
      .where(and(eq(events.tenantId, tenantId), gt(events.seq, cursor.lastSeq)))
      .orderBy(asc(events.seq))
      .limit(FANOUT_BATCH);
    const last = rows.at(-1);
    if (!last) return { deliveries: 0, more: false, cursor: cursor.lastSeq };
    const endpoints = await db
      .select({
        id: webhookEndpoints.id,
        eventTypes: webhookEndpoints.eventTypes,
        afterSeq: webhookEndpoints.afterSeq,
      })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.enabled, true));
    const now = new Date();
    const messages: (typeof webhookMessages.$inferInsert)[] = [];
    const deliveries: (typeof webhookDeliveries.$inferInsert)[] = [];
    for (const row of rows) {
      const testOf = row.type === 'webhook.test' ? (row.data as { endpointId?: string }).endpointId : null;
      const targets = endpoints.filter(
        (endpoint) =>
          endpoint.afterSeq < row.seq &&
          (testOf ? endpoint.id === testOf : endpointWants(endpoint.eventTypes, row.type)),
      );
      if (targets.length === 0) continue;
      messages.push({
        tenantId,
        eventId: row.id,
        eventSeq: row.seq,
        eventType: row.type,
        body: JSON.stringify(toEnvelope(row)),
      });
      for (const endpoint of targets) {
        deliveries.push({
          id: Bun.randomUUIDv7(),
          tenantId,
          endpointId: endpoint.id,
          eventId: row.id,
          eventSeq: row.seq,
          eventType: row.type,
          nextAttemptAt: now,
        });
      }
    }
    if (messages.length > 0) await db.insert(webhookMessages).values(messages).onConflictDoNothing();
    // The unique (endpoint, event) index makes a second fan-out of the same event a no-op, should the
    // cursor ever be moved back by hand.
    if (deliveries.length > 0) await db.insert(webhookDeliveries).values(deliveries).onConflictDoNothing();
    await db.update(webhookCursors).set({ lastSeq: last.seq }).where(eq(webhookCursors.tenantId, tenantId));
    return { deliveries: deliveries.length, more: rows.length === FANOUT_BATCH, cursor: last.seq };
  });
}

/** Tenants whose log has moved past their fan-out cursor (for the sweep that catches lost wake-ups). */
export async function tenantsBehind(database: Database, max = 100): Promise<string[]> {
  const rows = await database.transaction({ role: 'app_user' }, (db) =>
    selectRows<{ tenant_id: string }>(db, sql`select webhook_fanout_due(${max}) as tenant_id`),
  );
  return rows.map((row) => row.tenant_id);
}

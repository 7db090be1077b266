import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import { inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import {
  type WebhookDelivery,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from '../../../db/schema/index.ts';
import type { EventData } from '../../../realtime/events.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { type AuditWho, recordAudit, target } from '../audit/record.ts';
import type { WebhookDeliveryModel } from './model.ts';

/** A delivery as `webhook.deliveries_updated` carries it. */
export const toDeliveryEvent = (
  row: WebhookDelivery,
): EventData<'webhook.deliveries_updated'>['deliveries'][number] => ({
  id: row.id,
  endpointId: row.endpointId,
  eventId: row.eventId,
  eventType: row.eventType,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
  lastStatusCode: row.lastStatusCode,
  lastError: row.lastError,
});

type AttemptRow = typeof webhookAttempts.$inferSelect;

function toDeliveryModel(row: WebhookDelivery, attempts: AttemptRow[]): WebhookDeliveryModel {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventSeq: row.eventSeq,
    eventType: row.eventType,
    replayOf: row.replayOf,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    succeededAt: row.succeededAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    attemptLog: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      startedAt: attempt.startedAt.toISOString(),
      durationMs: attempt.durationMs,
      statusCode: attempt.statusCode,
      errorClass: attempt.errorClass,
      error: attempt.error,
      responseExcerpt: attempt.responseExcerpt,
    })),
  };
}

async function withAttempts(db: ScopedDb, rows: WebhookDelivery[]): Promise<WebhookDeliveryModel[]> {
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        rows.map((row) => row.id),
      ),
    )
    .orderBy(asc(webhookAttempts.deliveryId), asc(webhookAttempts.attempt));
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const attempt of attempts) {
    byDelivery.set(attempt.deliveryId, [...(byDelivery.get(attempt.deliveryId) ?? []), attempt]);
  }
  return rows.map((row) => toDeliveryModel(row, byDelivery.get(row.id) ?? []));
}

/** The delivery log, newest first, with every attempt of each delivery. */
export async function listDeliveries(
  db: ScopedDb,
  query: { endpointId?: string; status?: string; eventType?: string; limit: number; cursor?: string },
): Promise<{ items: WebhookDeliveryModel[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        query.endpointId ? eq(webhookDeliveries.endpointId, query.endpointId) : undefined,
        query.status ? eq(webhookDeliveries.status, query.status) : undefined,
        query.eventType ? eq(webhookDeliveries.eventType, query.eventType) : undefined,
        query.cursor ? lt(webhookDeliveries.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: await withAttempts(db, page),
    nextCursor: rows.length > query.limit && last ? last.id : null,
  };
}

async function enabledEndpoint(db: ScopedDb, id: string) {
  const [endpoint] = await db
    .select({ id: webhookEndpoints.id, url: webhookEndpoints.url, enabled: webhookEndpoints.enabled })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id));
  if (!endpoint) throw new AppError('not-found', 'No such webhook endpoint.');
  if (!endpoint.enabled) {
    throw new AppError(
      'webhook-endpoint-disabled',
      'Enable the endpoint first: nothing is sent to it meanwhile.',
    );
  }
  return endpoint;
}

/** Sends a message again to the same endpoint, as a new delivery with the same `webhook-id`. */
export async function replayDelivery(
  db: ScopedDb,
  tenantId: string,
  who: AuditWho,
  id: string,
): Promise<WebhookDeliveryModel> {
  const [source] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id));
  if (!source) throw new AppError('not-found', 'No such webhook delivery.');
  const endpoint = await enabledEndpoint(db, source.endpointId);
  const [replay] = await db
    .insert(webhookDeliveries)
    .values({
      id: Bun.randomUUIDv7(),
      tenantId,
      endpointId: source.endpointId,
      eventId: source.eventId,
      eventSeq: source.eventSeq,
      eventType: source.eventType,
      replayOf: source.id,
      nextAttemptAt: new Date(),
    })
    .returning();
  if (!replay) throw new Error('insert returned no delivery');
  await inOrder(
    () => publish(db, 'webhook.deliveries_updated', { deliveries: [toDeliveryEvent(replay)] }),
    () =>
      recordAudit(db, tenantId, who, {
        action: 'webhook.delivery_replayed',
        targets: [
          target('webhook_delivery', source.id),
          target('webhook_endpoint', endpoint.id, endpoint.url),
        ],
        metadata: { eventId: source.eventId, eventType: source.eventType, replayId: replay.id },
      }),
  );
  return toDeliveryModel(replay, []);
}

/**
 * Sends again every message to this endpoint that was given up since `since` and has not been delivered
 * (or queued again) after: one new delivery per message. Answers how many.
 */
export async function recoverEndpoint(
  db: ScopedDb,
  tenantId: string,
  who: AuditWho,
  id: string,
  since: Date,
): Promise<{ queued: number }> {
  const endpoint = await enabledEndpoint(db, id);
  // The newest delivery of each message given up since then, unless a later one is pending or succeeded.
  const failed = await selectRows<{
    id: string;
    event_id: string;
    event_seq: string | number;
    event_type: string;
  }>(
    db,
    sql`select f.id, f.event_id, f.event_seq, f.event_type
          from (select distinct on (d.event_id) d.* from webhook_deliveries d
                 where d.endpoint_id = ${id}::uuid and d.status = 'failed'
                   and d.updated_at >= ${since.toISOString()}::timestamptz
                 order by d.event_id, d.id desc) f
         where not exists (
           select 1 from webhook_deliveries later
            where later.endpoint_id = f.endpoint_id and later.event_id = f.event_id
              and later.id > f.id and later.status in ('pending', 'succeeded'))
         order by f.event_seq
         limit 10000`,
  );
  const now = new Date();
  const rows = failed.map((row) => ({
    id: Bun.randomUUIDv7(),
    tenantId,
    endpointId: id,
    eventId: row.event_id,
    eventSeq: Number(row.event_seq),
    eventType: row.event_type,
    replayOf: row.id,
    nextAttemptAt: now,
  }));
  if (rows.length > 0) await db.insert(webhookDeliveries).values(rows);
  await recordAudit(db, tenantId, who, {
    action: 'webhook.deliveries_recovered',
    targets: [target('webhook_endpoint', endpoint.id, endpoint.url)],
    metadata: { since: since.toISOString(), queued: rows.length },
  });
  return { queued: rows.length };
}

import { and, desc, eq, sql } from 'drizzle-orm';
import { inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import {
  apiKeys,
  events,
  type WebhookEndpoint,
  webhookCursors,
  webhookEndpoints,
} from '../../../db/schema/index.ts';
import type { EventData } from '../../../realtime/events.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { tenantWidePermissions } from '../access/service.ts';
import { type AuditWho, changesOf, recordAudit, target } from '../audit/record.ts';
import { checkEventTypes } from './event-types.ts';
import type {
  CreateWebhookEndpointBody,
  UpdateWebhookEndpointBody,
  WebhookEndpointModel,
  WithSecret,
} from './model.ts';
import { newWebhookSecret } from './signing.ts';
import { endpointUrlProblem, type TargetPolicy } from './targets.ts';

/** Who is changing endpoints: the audit's `who`, and what they may read (for the event types). */
export interface EndpointEditor {
  tenantId: string;
  userId: string;
  apiKeyId?: string;
  who: AuditWho;
}

const endpointTarget = (endpoint: { id: string; url: string }) =>
  target('webhook_endpoint', endpoint.id, endpoint.url);

type Health = WebhookEndpointModel['health'];
const NO_HEALTH: Health = { attempts24h: 0, succeeded24h: 0, lastFailureAt: null, lastFailure: null };

export function toEndpointModel(row: WebhookEndpoint, health: Health = NO_HEALTH): WebhookEndpointModel {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    rateLimit: row.rateLimit,
    ordering: row.ordering,
    previousSecretExpiresAt:
      row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
        ? row.previousSecretExpiresAt.toISOString()
        : null,
    failingSince: row.failingSince?.toISOString() ?? null,
    health,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The endpoint as events carry it (no secret, no health). */
export const endpointEventData = (
  row: WebhookEndpoint,
): EventData<'webhook.endpoint_created'>['endpoint'] => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.eventTypes,
  enabled: row.enabled,
  disabledReason: row.disabledReason,
  ordering: row.ordering,
});

/** The permissions the editor reads with: a person's tenant-wide ones, narrowed by the key's scopes. */
async function readablePermissions(db: ScopedDb, editor: EndpointEditor): Promise<Set<string>> {
  const held = new Set<string>(await tenantWidePermissions(db, editor.userId));
  if (!editor.apiKeyId) return held;
  const [key] = await db
    .select({ scopes: apiKeys.scopes })
    .from(apiKeys)
    .where(eq(apiKeys.id, editor.apiKeyId));
  const scopes = new Set(key?.scopes ?? []);
  return new Set([...held].filter((permission) => scopes.has(permission)));
}

function checkUrl(url: string, policy: TargetPolicy): void {
  const problem = endpointUrlProblem(url, policy);
  if (problem) {
    throw new AppError('validation-failed', `The URL cannot receive webhooks: ${problem}.`, {
      errors: [{ path: '/url', message: problem }],
    });
  }
}

/** Each endpoint's attempts of the last 24 hours and its newest failure. */
async function healthOf(db: ScopedDb, endpointIds: readonly string[]): Promise<Map<string, Health>> {
  const health = new Map<string, Health>();
  if (endpointIds.length === 0) return health;
  const ids = sql`array[${sql.join(
    endpointIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}]`;
  const rows = await selectRows<{
    endpoint_id: string;
    attempts: string | number;
    succeeded: string | number;
    last_failure_at: string | Date | null;
    last_failure: string | null;
  }>(
    db,
    sql`select e.id as endpoint_id,
               (select count(*) from webhook_attempts a where a.endpoint_id = e.id and a.started_at > now() - interval '24 hours') as attempts,
               (select count(*) from webhook_attempts a where a.endpoint_id = e.id and a.started_at > now() - interval '24 hours' and a.error_class is null) as succeeded,
               f.started_at as last_failure_at, f.error as last_failure
          from unnest(${ids}) as e(id)
          left join lateral (
            select a.started_at, a.error from webhook_attempts a
             where a.endpoint_id = e.id and a.error_class is not null
             order by a.started_at desc limit 1) f on true`,
  );
  for (const row of rows) {
    health.set(row.endpoint_id, {
      attempts24h: Number(row.attempts),
      succeeded24h: Number(row.succeeded),
      lastFailureAt: row.last_failure_at ? new Date(row.last_failure_at).toISOString() : null,
      lastFailure: row.last_failure,
    });
  }
  return health;
}

export async function listEndpoints(db: ScopedDb): Promise<WebhookEndpointModel[]> {
  const rows = await db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.id)).limit(100);
  const health = await healthOf(
    db,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toEndpointModel(row, health.get(row.id)));
}

async function findEndpoint(db: ScopedDb, id: string, forUpdate = false): Promise<WebhookEndpoint> {
  const query = db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  const [row] = await (forUpdate ? query.for('no key update') : query);
  if (!row) throw new AppError('not-found', 'No such webhook endpoint.');
  return row;
}

export async function readEndpoint(db: ScopedDb, id: string): Promise<WebhookEndpointModel> {
  const row = await findEndpoint(db, id);
  return toEndpointModel(row, (await healthOf(db, [row.id])).get(row.id));
}

/**
 * Adds an endpoint. It gets the events published after this one (its own creation event is the first it
 * does not get); the tenant's fan-out cursor starts here when it is the tenant's first endpoint.
 */
export async function createEndpoint(
  db: ScopedDb,
  editor: EndpointEditor,
  body: CreateWebhookEndpointBody,
  policy: TargetPolicy,
): Promise<WithSecret> {
  checkUrl(body.url, policy);
  const eventTypes = body.eventTypes ?? null;
  checkEventTypes(eventTypes, await readablePermissions(db, editor));
  const now = new Date();
  const row: WebhookEndpoint = {
    id: Bun.randomUUIDv7(),
    tenantId: editor.tenantId,
    url: body.url,
    description: body.description?.trim() ?? '',
    eventTypes,
    enabled: body.enabled ?? true,
    disabledReason: body.enabled === false ? 'manual' : null,
    disabledAt: body.enabled === false ? now : null,
    rateLimit: body.rateLimit ?? null,
    rateWindowStart: null,
    rateWindowCount: 0,
    ordering: body.ordering ?? 'none',
    secret: newWebhookSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    afterSeq: 0,
    failingSince: null,
    givenUpInARow: 0,
    createdBy: editor.userId,
    createdAt: now,
    updatedAt: now,
  };
  const seq = await publish(db, 'webhook.endpoint_created', { endpoint: endpointEventData(row) });
  row.afterSeq = seq;
  await inOrder(
    () => db.insert(webhookEndpoints).values(row),
    () =>
      db
        .insert(webhookCursors)
        .values({ tenantId: editor.tenantId, lastSeq: seq })
        .onConflictDoNothing({ target: webhookCursors.tenantId }),
    () =>
      recordAudit(db, editor.tenantId, editor.who, {
        action: 'webhook.endpoint_created',
        targets: [endpointTarget(row)],
        changes: changesOf(
          null,
          {
            url: row.url,
            description: row.description,
            eventTypes: row.eventTypes,
            enabled: row.enabled,
            rateLimit: row.rateLimit,
            ordering: row.ordering,
            secret: 'set',
          },
          { secret: ['secret'] },
        ),
      }),
  );
  return { ...toEndpointModel(row), secret: row.secret };
}

export async function updateEndpoint(
  db: ScopedDb,
  editor: EndpointEditor,
  id: string,
  patch: UpdateWebhookEndpointBody,
  policy: TargetPolicy,
): Promise<WebhookEndpointModel> {
  // Found first: someone else's id is a 404 whatever the body says.
  const before = await findEndpoint(db, id, true);
  if (patch.url !== undefined) checkUrl(patch.url, policy);
  if (patch.eventTypes !== undefined)
    checkEventTypes(patch.eventTypes, await readablePermissions(db, editor));
  const enabling = patch.enabled === true && !before.enabled;
  const disabling = patch.enabled === false && before.enabled;
  const now = new Date();
  const set: Partial<WebhookEndpoint> = {
    ...(patch.url !== undefined ? { url: patch.url } : {}),
    ...(patch.description !== undefined ? { description: patch.description.trim() } : {}),
    ...(patch.eventTypes !== undefined ? { eventTypes: patch.eventTypes } : {}),
    ...(patch.rateLimit !== undefined ? { rateLimit: patch.rateLimit } : {}),
    ...(patch.ordering !== undefined ? { ordering: patch.ordering } : {}),
    // Enabled again by hand: a fresh start, as if it had never failed.
    ...(enabling
      ? { enabled: true, disabledReason: null, disabledAt: null, failingSince: null, givenUpInARow: 0 }
      : {}),
    ...(disabling ? { enabled: false, disabledReason: 'manual', disabledAt: now } : {}),
    updatedAt: now,
  };
  const [after] = await db.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning();
  if (!after) throw new AppError('not-found', 'No such webhook endpoint.');
  const fields = ['url', 'description', 'eventTypes', 'enabled', 'rateLimit', 'ordering'] as const;
  const changes = changesOf(
    Object.fromEntries(fields.map((field) => [field, before[field]])),
    Object.fromEntries(fields.map((field) => [field, after[field]])),
  );
  await inOrder(
    () =>
      publish(db, 'webhook.endpoint_updated', {
        endpoint: endpointEventData(after),
        changes: Object.keys(changes),
      }),
    () =>
      recordAudit(db, editor.tenantId, editor.who, {
        action: 'webhook.endpoint_updated',
        targets: [endpointTarget(after)],
        changes,
      }),
  );
  return readEndpoint(db, id);
}

/** Removes an endpoint with its delivery log; what was on its way to it is not sent. */
export async function deleteEndpoint(db: ScopedDb, editor: EndpointEditor, id: string): Promise<void> {
  const [removed] = await db
    .delete(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id))
    .returning({ id: webhookEndpoints.id, url: webhookEndpoints.url });
  if (!removed) throw new AppError('not-found', 'No such webhook endpoint.');
  await inOrder(
    () => publish(db, 'webhook.endpoint_deleted', { endpoint: removed }),
    () =>
      recordAudit(db, editor.tenantId, editor.who, {
        action: 'webhook.endpoint_deleted',
        targets: [endpointTarget(removed)],
      }),
  );
}

/**
 * A new signing secret. The old one keeps signing beside it for `graceSeconds` (every attempt carries
 * both signatures meanwhile), so a receiver can switch without losing a message.
 */
export async function rotateSecret(
  db: ScopedDb,
  editor: EndpointEditor,
  id: string,
  graceSeconds: number,
): Promise<WithSecret> {
  const before = await findEndpoint(db, id, true);
  const secret = newWebhookSecret();
  const graceEnds = new Date(Date.now() + graceSeconds * 1000);
  const [after] = await db
    .update(webhookEndpoints)
    .set({
      secret,
      previousSecret: graceSeconds > 0 ? before.secret : null,
      previousSecretExpiresAt: graceSeconds > 0 ? graceEnds : null,
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!after) throw new AppError('not-found', 'No such webhook endpoint.');
  await inOrder(
    () =>
      publish(db, 'webhook.endpoint_updated', { endpoint: endpointEventData(after), changes: ['secret'] }),
    () =>
      recordAudit(db, editor.tenantId, editor.who, {
        action: 'webhook.secret_rotated',
        targets: [endpointTarget(after)],
        changes: { secret: ['[redacted]', '[redacted]'] },
        metadata: { previousSecretExpiresAt: graceSeconds > 0 ? graceEnds.toISOString() : null },
      }),
  );
  return { ...(await readEndpoint(db, id)), secret };
}

/** Publishes a `webhook.test` event that only this endpoint gets (whatever its event types). */
export async function sendTest(
  db: ScopedDb,
  editor: EndpointEditor,
  id: string,
): Promise<{ eventId: string; seq: number }> {
  const endpoint = await findEndpoint(db, id);
  if (!endpoint.enabled) {
    throw new AppError(
      'webhook-endpoint-disabled',
      'Enable the endpoint first: nothing is sent to it meanwhile.',
    );
  }
  const seq = await publish(db, 'webhook.test', {
    endpointId: endpoint.id,
    message: 'A test message from Wrapper: if it verified, this endpoint is ready.',
  });
  const [[event]] = await inOrder(
    () =>
      db
        .select({ id: events.id })
        .from(events)
        .where(and(eq(events.tenantId, editor.tenantId), eq(events.seq, seq))),
    () =>
      recordAudit(db, editor.tenantId, editor.who, {
        action: 'webhook.test_sent',
        targets: [endpointTarget(endpoint)],
      }),
  );
  if (!event) throw new Error('the test event was not found after publishing it');
  return { eventId: event.id, seq };
}

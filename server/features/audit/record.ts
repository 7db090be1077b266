import { sql } from 'drizzle-orm';
import { inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import { continueInTenant } from '../../../db/tenant.ts';
import { clientAddress, type PeerServer } from '../../plugins/client-address.ts';
import { requestIdOf } from '../../plugins/request-id.ts';
import type { AuditAction } from './catalog.ts';
import { entryDigest } from './chain.ts';
import type { AuditActor, AuditContent, AuditContext, AuditTarget } from './model.ts';

/** Who acts and from where: what every entry records besides what happened. */
export interface AuditWho {
  actor: AuditActor;
  context: AuditContext;
}

/** Work with no request behind it (a job, a socket): no request id, address or user agent. */
export const NO_CONTEXT: AuditContext = { requestId: null, ip: null, userAgent: null };

/** Work not started by a request (a Stripe webhook's effect, a renewal, an expiry): `id` names the job. */
export const systemWho = (job: string, context: AuditContext = NO_CONTEXT): AuditWho => ({
  actor: { type: 'system', id: job, name: null },
  context,
});

/** A person acting for themselves, before any token names them (sign-up, sign-in, emailed links). */
export const personWho = (
  person: { id: string | null; name: string | null },
  context: AuditContext = NO_CONTEXT,
): AuditWho => ({ actor: { type: 'user', id: person.id, name: person.name }, context });

/** A platform administrator: the same person and request as `who`, acting with platform powers. */
export const platformAdminWho = (who: AuditWho): AuditWho => ({
  actor: { ...who.actor, type: 'platform_admin' },
  context: who.context,
});

/** Stripe's webhook: the effect of a verified Stripe event, named by the event. */
export const stripeWho = (eventId: string, context: AuditContext = NO_CONTEXT): AuditWho => ({
  actor: { type: 'system', id: 'stripe', name: `Stripe event ${eventId}` },
  context,
});

/** Target helpers: `{type, id, name}`, the name null when not known without another query. */
export const target = (type: string, id: string, name: string | null = null): AuditTarget => ({
  type,
  id,
  name,
});

/** The request's id, client address and user agent (bounded: they are the caller's to choose). */
export function requestContext(request: Request, server: PeerServer, trustProxy: boolean): AuditContext {
  return {
    requestId: requestIdOf(request),
    ip: clientAddress(request, server, trustProxy),
    userAgent: request.headers.get('user-agent')?.slice(0, 512) ?? null,
  };
}

export const REDACTED = '[redacted]';

/**
 * `{field: [before, after]}` for the fields that differ; a field in `secret` shows as "[redacted]" on
 * both sides, so the entry says it changed without saying to what.
 */
export function changesOf<T extends Record<string, unknown>>(
  before: Partial<T> | null,
  after: Partial<T> | null,
  options: { secret?: readonly (keyof T)[] } = {},
): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const field of fields) {
    const from = before?.[field] ?? null;
    const to = after?.[field] ?? null;
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[field] = options.secret?.includes(field) ? [REDACTED, REDACTED] : [from, to];
  }
  return changes;
}

export interface AuditRecord {
  action: AuditAction;
  targets: AuditTarget[];
  changes?: Record<string, [unknown, unknown]>;
  metadata?: Record<string, unknown>;
  outcome?: 'success' | 'failure';
}

/**
 * Appends one entry to the tenant's audit chain in the transaction `db` is in, so it commits with the
 * change it records or not at all, and publishes it as an `audit.recorded` event (one statement). `db`
 * must act in `tenantId` (a tenant door, or `continueInTenant`).
 */
export async function recordAudit(
  db: ScopedDb,
  tenantId: string,
  who: AuditWho,
  record: AuditRecord,
): Promise<{ id: string; seq: number }> {
  const content: AuditContent = {
    id: Bun.randomUUIDv7(),
    tenantId,
    occurredAt: new Date().toISOString(),
    action: record.action,
    actor: who.actor,
    targets: record.targets,
    context: who.context,
    changes: record.changes ?? {},
    metadata: record.metadata ?? {},
    outcome: record.outcome ?? 'success',
  };
  const digest = Buffer.from(entryDigest(content));
  const [row] = await selectRows<{ seq: string | number }>(
    db,
    sql`select append_audit_entry(${tenantId}::uuid, ${content.id}::uuid, ${content.occurredAt}::timestamptz,
          ${content.action}, ${who.actor.type}, ${who.actor.id}, ${who.actor.name},
          ${JSON.stringify(content.targets)}::jsonb, ${JSON.stringify(content.context)}::jsonb,
          ${JSON.stringify(content.changes)}::jsonb, ${JSON.stringify(content.metadata)}::jsonb,
          ${content.outcome}, ${digest}::bytea, ${Bun.randomUUIDv7()}::uuid) as seq`,
  );
  return { id: content.id, seq: Number(row?.seq) };
}

/**
 * `recordAudit` from inside an identity transaction (`withIdentity`): continues as `app_user` in the
 * tenant first (`continueInTenant`), pipelined with the append, so it costs one round trip. The
 * transaction stays in that tenant afterwards: record last.
 */
export async function recordAuditAs(
  db: ScopedDb,
  ids: { tenantId: string; userId: string },
  who: AuditWho,
  record: AuditRecord,
): Promise<{ id: string; seq: number }> {
  const [, recorded] = await inOrder(
    () => continueInTenant(db, ids),
    () => recordAudit(db, ids.tenantId, who, record),
  );
  return recorded;
}

/**
 * A security event about a person rather than one tenant (sign-in refused, password reset, email
 * confirmed): one entry in each tenant where they are an active member, in the caller's identity
 * transaction (as `recordAuditAs`: record last). Someone with no active membership leaves no entry.
 */
export async function recordForPerson(
  db: ScopedDb,
  userId: string,
  who: AuditWho,
  record: AuditRecord,
): Promise<number> {
  // The identity role reads the memberships of the person in `app.user_id` only; set it first (pipelined).
  const [, rows] = await inOrder(
    () => db.execute(sql`select set_config('app.user_id', ${userId}, true)`),
    () =>
      selectRows<{ tenant_id: string }>(
        db,
        sql`select tenant_id from memberships where user_id = ${userId}::uuid and status = 'active'`,
      ),
  );
  for (const { tenant_id: tenantId } of rows) await recordAuditAs(db, { tenantId, userId }, who, record);
  return rows.length;
}

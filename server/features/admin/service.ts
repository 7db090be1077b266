import { and, asc, count, desc, eq, gt, ilike, inArray, lt, lte, max, or, type SQL, sql } from 'drizzle-orm';
import { type ScopedDb, selectRows } from '../../../db/client.ts';
import {
  auditFeed,
  billingAccounts,
  creditBalances,
  events,
  memberships,
  type Tenant,
  tenants,
} from '../../../db/schema/index.ts';
import { continueInTenant } from '../../../db/tenant.ts';
import type { EventEnvelope } from '../../../realtime/events.ts';
import { AppError } from '../../errors.ts';
import type { AuditAction } from '../audit/catalog.ts';
import type { AuditEntry } from '../audit/model.ts';
import { listMembers } from '../members/service.ts';
import type {
  AdminAuditEventModel,
  AdminAuditPage,
  AdminTenantDetail,
  AdminTenantFilters,
  AdminTenantModel,
  AdminTenantPage,
} from './model.ts';

/** What a tenant row is shown with: counted and looked up for a page of tenants at once. */
interface TenantFigures {
  memberCount: number;
  planId: string | null;
  balance: number;
}

const toAdminTenant = (tenant: Tenant, figures: TenantFigures): AdminTenantModel => ({
  id: tenant.id,
  name: tenant.name,
  slug: tenant.slug,
  status: tenant.status,
  memberCount: figures.memberCount,
  planId: figures.planId,
  balance: figures.balance,
  createdAt: tenant.createdAt.toISOString(),
  updatedAt: tenant.updatedAt.toISOString(),
});

/** `%`, `_` and the escape character itself stand for themselves in a `q` search. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (match) => `\\${match}`);

/**
 * Refuses anyone the database does not know as a platform admin (the policies would show them nothing),
 * and an admin whose session has ended.
 */
export async function requirePlatformAdmin(db: ScopedDb, sessionId?: string): Promise<void> {
  const [row] = await selectRows<{ admin: boolean; live: boolean }>(
    db,
    sql`select acting_platform_admin() as admin,
          ${sessionId ?? null}::uuid is null or exists (
            select 1 from sessions s
            where s.id = ${sessionId ?? null}::uuid and s.revoked_at is null and s.expires_at > now()
          ) as live`,
  );
  if (!row?.live) throw new AppError('unauthorized', 'The session has ended; sign in again.');
  if (!row.admin) throw new AppError('forbidden', 'Platform administrators only.');
}

async function planIds(db: ScopedDb, tenantIds: string[]): Promise<Map<string, string | null>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .select({ tenantId: billingAccounts.tenantId, planId: billingAccounts.planId })
    .from(billingAccounts)
    .where(inArray(billingAccounts.tenantId, tenantIds));
  return new Map(rows.map((row) => [row.tenantId, row.planId]));
}

async function memberCounts(db: ScopedDb, tenantIds: string[]): Promise<Map<string, number>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .select({ tenantId: memberships.tenantId, members: count() })
    .from(memberships)
    .where(inArray(memberships.tenantId, tenantIds))
    .groupBy(memberships.tenantId);
  return new Map(rows.map((row) => [row.tenantId, row.members]));
}

async function balances(db: ScopedDb, tenantIds: string[]): Promise<Map<string, number>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .select({ tenantId: creditBalances.tenantId, balance: creditBalances.balance })
    .from(creditBalances)
    .where(inArray(creditBalances.tenantId, tenantIds));
  return new Map(rows.map((row) => [row.tenantId, Number(row.balance)]));
}

async function withFigures(db: ScopedDb, page: Tenant[]): Promise<AdminTenantModel[]> {
  const ids = page.map((tenant) => tenant.id);
  const [counts, plansOf, balanceOf] = [
    await memberCounts(db, ids),
    await planIds(db, ids),
    await balances(db, ids),
  ];
  return page.map((tenant) =>
    toAdminTenant(tenant, {
      memberCount: counts.get(tenant.id) ?? 0,
      planId: plansOf.get(tenant.id) ?? null,
      balance: balanceOf.get(tenant.id) ?? 0,
    }),
  );
}

/** Every tenant, by id (keyset pages), narrowed by a name or slug search and a status. */
export async function listAllTenants(
  db: ScopedDb,
  options: { limit: number; cursor?: string; sessionId?: string; filters?: AdminTenantFilters },
): Promise<AdminTenantPage> {
  await requirePlatformAdmin(db, options.sessionId);
  const q = options.filters?.q?.trim();
  const pattern = q ? `%${escapeLike(q)}%` : undefined;
  const status = options.filters?.status;
  const rows = await db
    .select()
    .from(tenants)
    .where(
      and(
        options.cursor ? gt(tenants.id, options.cursor) : undefined,
        status ? eq(tenants.status, status) : undefined,
        pattern ? or(ilike(tenants.name, pattern), ilike(tenants.slug, pattern)) : undefined,
      ),
    )
    .orderBy(asc(tenants.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    items: await withFigures(db, page),
    nextCursor: rows.length > options.limit && last ? last.id : null,
  };
}

/**
 * Suspends or reactivates a tenant (its members lose or regain access on their next request), in the
 * caller's platform-admin transaction; the caller records it (`admin.tenant_updated`).
 */
export async function setTenantStatus(
  db: ScopedDb,
  input: { sessionId?: string; tenantId: string; status: 'active' | 'suspended' },
): Promise<{ tenant: Tenant; from: Tenant['status'] }> {
  await requirePlatformAdmin(db, input.sessionId);
  const [before] = await db.select().from(tenants).where(eq(tenants.id, input.tenantId));
  if (!before) throw new AppError('not-found', 'No such tenant.');
  const [after] = await db
    .update(tenants)
    .set({ status: input.status, updatedAt: new Date() })
    .where(eq(tenants.id, input.tenantId))
    .returning();
  if (!after) throw new AppError('not-found', 'No such tenant.');
  return { tenant: after, from: before.status };
}

async function readAdminTenant(db: ScopedDb, tenant: Tenant): Promise<AdminTenantModel> {
  const [shown] = await withFigures(db, [tenant]);
  if (!shown) throw new AppError('not-found', 'No such tenant.');
  return shown;
}

/** Whether `tenantId` names a tenant (as a platform admin sees them all). */
export async function tenantExists(db: ScopedDb, tenantId: string): Promise<boolean> {
  const [row] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  return row !== undefined;
}

/** One tenant as platform administration sees it. */
export async function findTenantForAdmin(
  db: ScopedDb,
  input: { tenantId: string; sessionId?: string },
): Promise<AdminTenantModel> {
  await requirePlatformAdmin(db, input.sessionId);
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, input.tenantId));
  if (!tenant) throw new AppError('not-found', 'No such tenant.');
  return readAdminTenant(db, tenant);
}

/** How many of a tenant's members its page shows (the count covers them all). */
const MEMBERS_SHOWN = 100;

/**
 * One tenant with its members, in the caller's platform-admin transaction acting in that tenant
 * (`withPlatformAdmin(…, {tenantId})`). The admin role sees memberships but, by design, no one's name
 * or email: once the database has admitted the platform admin, the transaction continues as the tenant's
 * own request role, whose policies show exactly that tenant's members and roles.
 */
export async function readTenantForAdmin(
  db: ScopedDb,
  input: { tenantId: string; adminUserId: string; sessionId?: string },
): Promise<AdminTenantDetail> {
  const tenant = await findTenantForAdmin(db, input);
  await continueInTenant(db, { tenantId: input.tenantId, userId: input.adminUserId });
  const members = await listMembers(db, { limit: MEMBERS_SHOWN });
  return { ...tenant, members: members.items };
}

/** What the cross-tenant audit list is narrowed to. */
export interface AdminAuditFilters {
  tenantId?: string;
  action?: AuditAction;
  actorId?: string;
}

/**
 * The newest `audit.recorded` events across tenants, in feed order (newest first), each with its
 * position. The feed's head is read first and bounds the page, so a console that subscribes to
 * `admin:audit` after `head` receives exactly the entries this answer could not contain.
 */
export async function listAdminAuditEvents(
  db: ScopedDb,
  options: { limit: number; before?: number; filters: AdminAuditFilters; sessionId?: string },
): Promise<AdminAuditPage> {
  await requirePlatformAdmin(db, options.sessionId);
  const [top] = await db.select({ head: max(auditFeed.position) }).from(auditFeed);
  const head = Number(top?.head ?? 0);
  const { tenantId, action, actorId } = options.filters;
  const conditions: Array<SQL | undefined> = [
    lte(auditFeed.position, head),
    options.before !== undefined ? lt(auditFeed.position, options.before) : undefined,
    tenantId ? eq(auditFeed.tenantId, tenantId) : undefined,
    action ? sql`${events.data}->>'action' = ${action}` : undefined,
    actorId ? sql`${events.data}->'actor'->>'id' = ${actorId}` : undefined,
  ];
  const rows = await db
    .select({
      position: auditFeed.position,
      tenantId: events.tenantId,
      seq: events.seq,
      id: events.id,
      version: events.version,
      occurredAt: events.occurredAt,
      actor: events.actor,
      data: events.data,
    })
    .from(auditFeed)
    .innerJoin(events, and(eq(events.tenantId, auditFeed.tenantId), eq(events.seq, auditFeed.eventSeq)))
    .where(and(...conditions))
    .orderBy(desc(auditFeed.position))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const items: AdminAuditEventModel[] = page.map((row) => ({
    id: row.id,
    seq: Number(row.seq),
    type: 'audit.recorded',
    version: row.version,
    tenantId: row.tenantId,
    occurredAt: row.occurredAt.toISOString(),
    // Written by publish() from the catalog's schemas: the envelope's actor and an audit entry.
    actor: row.actor as EventEnvelope['actor'],
    data: row.data as AuditEntry,
    auditPosition: Number(row.position),
  }));
  const last = items.at(-1);
  return { items, nextCursor: rows.length > options.limit && last ? last.auditPosition : null, head };
}

import { asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import { type ScopedDb, selectRows } from '../../../db/client.ts';
import { billingAccounts, memberships, type Tenant, tenants } from '../../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import type { AdminTenantModel, AdminTenantPage } from './model.ts';

const toAdminTenant = (tenant: Tenant, memberCount: number, planId: string | null): AdminTenantModel => ({
  id: tenant.id,
  name: tenant.name,
  slug: tenant.slug,
  status: tenant.status,
  memberCount,
  planId,
  createdAt: tenant.createdAt.toISOString(),
  updatedAt: tenant.updatedAt.toISOString(),
});

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

export async function listAllTenants(
  db: ScopedDb,
  options: { limit: number; cursor?: string; sessionId?: string },
): Promise<AdminTenantPage> {
  await requirePlatformAdmin(db, options.sessionId);
  const rows = await db
    .select()
    .from(tenants)
    .where(options.cursor ? gt(tenants.id, options.cursor) : undefined)
    .orderBy(asc(tenants.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const ids = page.map((tenant) => tenant.id);
  const counts = await memberCounts(db, ids);
  const plansOf = await planIds(db, ids);
  const last = page.at(-1);
  return {
    items: page.map((tenant) =>
      toAdminTenant(tenant, counts.get(tenant.id) ?? 0, plansOf.get(tenant.id) ?? null),
    ),
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
  const counts = await memberCounts(db, [tenant.id]);
  const plansOf = await planIds(db, [tenant.id]);
  return toAdminTenant(tenant, counts.get(tenant.id) ?? 0, plansOf.get(tenant.id) ?? null);
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

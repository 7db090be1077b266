import { eq } from 'drizzle-orm';
import { inOrder, type ScopedDb } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import { type Tenant, tenants } from '../../../db/schema/index.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { type AuditWho, changesOf, recordAudit, target } from '../audit/record.ts';
import type { TenantSettings } from './model.ts';

const toSettings = (tenant: Tenant): TenantSettings => ({
  id: tenant.id,
  name: tenant.name,
  slug: tenant.slug,
  status: tenant.status,
  branding: { logoUrl: tenant.logoUrl, primaryColor: tenant.primaryColor, customDomain: tenant.customDomain },
  createdAt: tenant.createdAt.toISOString(),
  updatedAt: tenant.updatedAt.toISOString(),
});

export async function readTenantSettings(db: ScopedDb, tenantId: string): Promise<TenantSettings> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new AppError('not-found', 'No such tenant.');
  return toSettings(tenant);
}

export async function updateTenantSettings(
  db: ScopedDb,
  input: {
    tenantId: string;
    name?: string;
    branding?: { logoUrl?: string | null; primaryColor?: string | null; customDomain?: string | null };
    who: AuditWho;
  },
): Promise<TenantSettings> {
  const branding = input.branding ?? {};
  try {
    // What the fields were before (locked until the update below). FOR NO KEY UPDATE, as the update
    // itself takes: FOR UPDATE would also block the key-share lock every concurrent change of the tenant
    // takes on this row when it inserts its event or audit entry (their foreign keys), while this
    // transaction waits for the event sequence those changes hold — a deadlock.
    const [before] = await db
      .select({
        name: tenants.name,
        logoUrl: tenants.logoUrl,
        primaryColor: tenants.primaryColor,
        customDomain: tenants.customDomain,
      })
      .from(tenants)
      .where(eq(tenants.id, input.tenantId))
      .for('no key update');
    const [tenant] = await db
      .update(tenants)
      .set({
        ...(input.name !== undefined ? { name: input.name.trim() } : {}),
        ...('logoUrl' in branding ? { logoUrl: branding.logoUrl } : {}),
        ...('primaryColor' in branding ? { primaryColor: branding.primaryColor?.toLowerCase() ?? null } : {}),
        ...('customDomain' in branding ? { customDomain: branding.customDomain?.toLowerCase() ?? null } : {}),
        updatedAt: new Date(),
      })
      .where(eq(tenants.id, input.tenantId))
      .returning();
    if (!tenant) throw new AppError('not-found', 'No such tenant.');
    const settings = toSettings(tenant);
    const changes = [
      ...(input.name !== undefined ? ['name'] : []),
      ...Object.keys(branding).map((field) => `branding.${field}`),
    ];
    await inOrder(
      () => changes.length > 0 && publish(db, 'tenant.updated', { tenant: settings, changes }),
      () =>
        recordAudit(db, input.tenantId, input.who, {
          action: 'tenant.updated',
          targets: [target('tenant', tenant.id, tenant.name)],
          changes: changesOf(before ?? null, {
            name: tenant.name,
            logoUrl: tenant.logoUrl,
            primaryColor: tenant.primaryColor,
            customDomain: tenant.customDomain,
          }),
        }),
    );
    return settings;
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError('conflict', 'That custom domain is already in use.', {
        errors: [{ path: '/branding/customDomain', message: 'Already in use' }],
      });
    }
    throw error;
  }
}

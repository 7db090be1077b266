import { and, eq, sql } from 'drizzle-orm';
import { type Database, selectRows } from '../../../db/client.ts';
import { memberships } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { type AuditWho, recordAudit, systemWho } from '../audit/record.ts';

/**
 * Sets the platform-admin flag of the people `where` selects; answers their ids. Only the owner
 * connection may write the flag; RLS is forced even on the owner, so it is lifted for this one update,
 * inside one transaction.
 */
export async function flagPlatformAdmins(
  database: Database,
  where: ReturnType<typeof sql>,
): Promise<string[]> {
  return database.owner.transaction(async (tx) => {
    await tx.execute(sql`alter table users no force row level security`);
    const rows = await selectRows<{ id: string }>(
      tx,
      sql`update users set is_platform_admin = true, updated_at = now() where ${where} returning id`,
    );
    await tx.execute(sql`alter table users force row level security`);
    return rows.map((row) => row.id);
  });
}

/** Whether anyone is a platform admin yet. */
export async function platformAdminExists(database: Database): Promise<boolean> {
  const rows = await database.owner.transaction(async (tx) => {
    await tx.execute(sql`alter table users no force row level security`);
    const found = await selectRows<{ found: boolean }>(
      tx,
      sql`select exists (select 1 from users where is_platform_admin) as found`,
    );
    await tx.execute(sql`alter table users force row level security`);
    return found;
  });
  return rows[0]?.found === true;
}

/** The grant goes in the audit trail of each tenant the person is an active member of. */
export async function auditPlatformAdminGrant(
  database: Database,
  userId: string,
  who: AuditWho,
  via: 'setup-link' | 'operator',
): Promise<void> {
  const rows = await database.owner
    .select({ tenantId: memberships.tenantId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.status, 'active')));
  for (const { tenantId } of rows) {
    await withTenant(database, tenantId, (db) =>
      recordAudit(db, tenantId, who, {
        action: 'admin.platform_admin_granted',
        targets: [{ type: 'user', id: userId, name: null }],
        metadata: { via },
      }),
    );
  }
}

/** Makes an existing person a platform administrator (`bun run admin:create`); false for an unknown email. */
export async function grantPlatformAdmin(
  database: Database,
  email: string,
  who: AuditWho = systemWho('operator'),
): Promise<boolean> {
  const [userId] = await flagPlatformAdmins(database, sql`lower(email) = ${email.trim().toLowerCase()}`);
  if (!userId) return false;
  await auditPlatformAdminGrant(database, userId, who, 'operator');
  return true;
}

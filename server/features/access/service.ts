import { and, eq, isNull } from 'drizzle-orm';
import type { ScopedDb } from '../../../db/client.ts';
import { memberships, roleAssignments, roles, users } from '../../../db/schema/index.ts';
import { publish } from '../../../realtime/publish.ts';
import {
  allPermissions,
  type BuiltInRoleKey,
  builtInRoleKeys,
  builtInRoles,
  type Permission,
} from './permissions.ts';

/** Makes a person a member of the tenant in scope, with a tenant-wide built-in role. */
export async function addMember(
  db: ScopedDb,
  input: { tenantId: string; userId: string; role: BuiltInRoleKey },
): Promise<void> {
  await db.insert(memberships).values({ tenantId: input.tenantId, userId: input.userId });
  const roleId = builtInRoles[input.role].id;
  await db.insert(roleAssignments).values({ tenantId: input.tenantId, userId: input.userId, roleId });
  await publishJoined(db, {
    userId: input.userId,
    roleIds: [roleId],
    organizationId: null,
    invitationId: null,
  });
}

/** `membership.joined`, with the person as the tenant now sees them. */
export async function publishJoined(
  db: ScopedDb,
  input: { userId: string; roleIds: string[]; organizationId: string | null; invitationId: string | null },
): Promise<void> {
  const [member] = await db
    .select({ userId: users.id, name: users.name, email: users.email })
    .from(users)
    .where(eq(users.id, input.userId));
  if (!member) throw new Error('the new member is not visible to the tenant');
  await publish(db, 'membership.joined', {
    member,
    roleIds: input.roleIds,
    organizationId: input.organizationId,
    invitationId: input.invitationId,
  });
}

/** Orders role keys most powerful built-in first, custom roles after, so `[0]` is the headline role. */
export function byPrecedence(keys: Iterable<string>): string[] {
  const rank = (key: string) => {
    const index = (builtInRoleKeys as readonly string[]).indexOf(key);
    return index === -1 ? builtInRoleKeys.length : index;
  };
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Tenant-wide role keys of one person in every tenant visible in scope: the identity role sees its own
 * person's assignments across tenants, a tenant request those of its tenant.
 */
export async function tenantWideRoleKeys(db: ScopedDb, userId: string): Promise<Map<string, string[]>> {
  const rows = await db
    .select({ tenantId: roleAssignments.tenantId, key: roles.key })
    .from(roleAssignments)
    .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
    .where(and(eq(roleAssignments.userId, userId), isNull(roleAssignments.organizationId)));
  const byTenant = new Map<string, string[]>();
  for (const row of rows) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.key]);
  for (const [tenantId, keys] of byTenant) byTenant.set(tenantId, byPrecedence(keys));
  return byTenant;
}

/** The permissions a person holds tenant-wide in the tenant in scope. */
export async function tenantWidePermissions(db: ScopedDb, userId: string): Promise<Permission[]> {
  const rows = await db
    .select({ permissions: roles.permissions })
    .from(roleAssignments)
    .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
    .where(and(eq(roleAssignments.userId, userId), isNull(roleAssignments.organizationId)));
  const held = new Set(rows.flatMap((row) => row.permissions));
  return allPermissions.filter((permission) => held.has(permission));
}

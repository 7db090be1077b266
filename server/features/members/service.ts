import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { inOrder, type ScopedDb } from '../../../db/client.ts';
import { memberships, roleAssignments, roles, users } from '../../../db/schema/index.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import { builtInRoles } from '../access/permissions.ts';
import { type AuditWho, recordAudit, target } from '../audit/record.ts';
import type { MemberModel, MemberPage } from './model.ts';

export async function listMembers(
  db: ScopedDb,
  options: { limit: number; cursor?: string; userId?: string },
): Promise<MemberPage> {
  const rows = await db
    .select({
      userId: memberships.userId,
      name: users.name,
      email: users.email,
      status: memberships.status,
      joinedAt: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      options.userId
        ? eq(memberships.userId, options.userId)
        : options.cursor
          ? gt(memberships.userId, options.cursor)
          : undefined,
    )
    .orderBy(asc(memberships.userId))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const grants = page.length
    ? await db
        .select({
          userId: roleAssignments.userId,
          roleId: roles.id,
          key: roles.key,
          name: roles.name,
          organizationId: roleAssignments.organizationId,
        })
        .from(roleAssignments)
        .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
        .where(
          inArray(
            roleAssignments.userId,
            page.map((row) => row.userId),
          ),
        )
    : [];
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      ...row,
      joinedAt: row.joinedAt.toISOString(),
      roles: grants
        .filter((grant) => grant.userId === row.userId)
        .map(({ roleId, key, name, organizationId }) => ({ roleId, key, name, organizationId })),
    })),
    nextCursor: rows.length > options.limit && last ? last.userId : null,
  };
}

/** Membership changes within a tenant are serialised, so two of them cannot both remove the last owner. */
async function lockMembers(db: ScopedDb, tenantId: string): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`members:${tenantId}`}, 0))`);
}

async function requireMember(
  db: ScopedDb,
  userId: string,
): Promise<{ userId: string; name: string; status: 'active' | 'suspended' }> {
  const [row] = await db
    .select({ userId: memberships.userId, name: users.name, status: memberships.status })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.userId, userId));
  if (!row) throw new AppError('not-found', 'No such member.');
  return row;
}

/** Fails the transaction when no active member would hold the owner role tenant-wide. */
async function requireAnOwner(db: ScopedDb): Promise<void> {
  const [owner] = await db
    .select({ userId: roleAssignments.userId })
    .from(roleAssignments)
    .innerJoin(
      memberships,
      and(eq(memberships.tenantId, roleAssignments.tenantId), eq(memberships.userId, roleAssignments.userId)),
    )
    .where(
      and(
        eq(roleAssignments.roleId, builtInRoles.owner.id),
        isNull(roleAssignments.organizationId),
        eq(memberships.status, 'active'),
      ),
    )
    .limit(1);
  if (!owner) {
    throw new AppError(
      'last-owner',
      'Make someone else an owner first; the last owner cannot be removed or demoted.',
    );
  }
}

/** Replaces a member's tenant-wide roles and/or changes their status; applies on their next request. */
export async function updateMember(
  db: ScopedDb,
  input: {
    tenantId: string;
    userId: string;
    roleIds?: string[];
    status?: 'active' | 'suspended';
    who: AuditWho;
  },
): Promise<void> {
  await lockMembers(db, input.tenantId);
  const member = await requireMember(db, input.userId);
  const changes: Record<string, [unknown, unknown]> = {};
  if (input.roleIds) {
    // Only built-in roles and this tenant's own are visible here (RLS), so others read as unknown.
    const known = await db.select({ id: roles.id }).from(roles).where(inArray(roles.id, input.roleIds));
    if (known.length !== input.roleIds.length) {
      throw new AppError('validation-failed', 'Some roles do not exist.', {
        errors: [{ path: '/roleIds', message: 'Unknown role id' }],
      });
    }
    const taken = await db
      .delete(roleAssignments)
      .where(and(eq(roleAssignments.userId, input.userId), isNull(roleAssignments.organizationId)))
      .returning({ roleId: roleAssignments.roleId });
    const before = taken.map((row) => row.roleId).sort();
    const after = [...input.roleIds].sort();
    if (JSON.stringify(before) !== JSON.stringify(after)) changes.roleIds = [before, after];
    await db
      .insert(roleAssignments)
      .values(input.roleIds.map((roleId) => ({ tenantId: input.tenantId, userId: input.userId, roleId })));
    await publish(db, 'membership.role_changed', { userId: input.userId, roleIds: input.roleIds });
  }
  if (input.status) {
    const [changed] = await db
      .update(memberships)
      .set({ status: input.status, updatedAt: new Date() })
      .where(and(eq(memberships.userId, input.userId), sql`${memberships.status} <> ${input.status}`))
      .returning({ userId: memberships.userId });
    if (changed) {
      changes.status = [member.status, input.status];
      await publish(db, 'membership.status_changed', { userId: input.userId, status: input.status });
    }
  }
  await inOrder(
    () => requireAnOwner(db),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'member.updated',
        targets: [target('user', member.userId, member.name)],
        changes,
      }),
  );
}

/** Removes a member (their roles go with them); the last owner cannot leave. */
export async function removeMember(
  db: ScopedDb,
  input: { tenantId: string; userId: string; who: AuditWho },
): Promise<void> {
  await lockMembers(db, input.tenantId);
  const member = await requireMember(db, input.userId);
  await db.delete(memberships).where(eq(memberships.userId, input.userId));
  await requireAnOwner(db);
  await inOrder(
    () => publish(db, 'membership.removed', { userId: input.userId }),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'member.removed',
        targets: [target('user', member.userId, member.name)],
        changes: { status: [member.status, null] },
      }),
  );
}

export async function readMember(db: ScopedDb, userId: string): Promise<MemberModel> {
  const { items } = await listMembers(db, { limit: 1, userId });
  const [member] = items;
  if (!member) throw new AppError('not-found', 'No such member.');
  return member;
}

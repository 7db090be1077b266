import { and, asc, eq, sql } from 'drizzle-orm';
import { inOrder, type ScopedDb } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import { type Role, roleAssignments, roles } from '../../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type AuditWho, changesOf, recordAudit, target } from '../audit/record.ts';
import type { RoleModel } from './model.ts';
import { byPrecedence } from './service.ts';

const toRoleDto = (role: Role): RoleModel => ({
  id: role.id,
  key: role.key,
  name: role.name,
  description: role.description,
  permissions: role.permissions,
  builtIn: role.tenantId === null,
  createdAt: role.createdAt.toISOString(),
  updatedAt: role.updatedAt.toISOString(),
});

function keyFor(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return base || 'role';
}

/** The roles a tenant can grant: the built-ins, then its own custom roles by name. */
export async function listRoles(db: ScopedDb): Promise<RoleModel[]> {
  const rows = await db.select().from(roles).orderBy(asc(roles.name));
  const order = byPrecedence(rows.filter((row) => row.tenantId === null).map((row) => row.key));
  const builtIns = order.map((key) => rows.find((row) => row.tenantId === null && row.key === key));
  return [...builtIns, ...rows.filter((row) => row.tenantId !== null)]
    .filter((row): row is Role => row !== undefined)
    .map(toRoleDto);
}

export async function createRole(
  db: ScopedDb,
  input: { tenantId: string; name: string; description?: string; permissions: string[]; who: AuditWho },
): Promise<RoleModel> {
  const id = Bun.randomUUIDv7();
  const name = input.name.trim();
  const description = input.description?.trim() ?? '';
  try {
    // The id is chosen here, so the audit entry leaves with the insert (pipelined: one round trip).
    const inserted = db
      .insert(roles)
      .values({
        id,
        tenantId: input.tenantId,
        key: keyFor(input.name),
        name,
        description,
        permissions: input.permissions,
      })
      .returning();
    const [[row]] = await inOrder(
      () => inserted,
      () =>
        recordAudit(db, input.tenantId, input.who, {
          action: 'role.created',
          targets: [target('role', id, name)],
          changes: changesOf(null, { name, description, permissions: input.permissions }),
        }),
    );
    if (!row) throw new Error('insert returned no role');
    return toRoleDto(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'A role with this name already exists.');
    throw error;
  }
}

async function customRole(db: ScopedDb, id: string): Promise<Role> {
  const [row] = await db.select().from(roles).where(eq(roles.id, id));
  if (!row) throw new AppError('not-found', 'No such role.');
  if (row.tenantId === null) throw new AppError('conflict', 'Built-in roles cannot be changed or deleted.');
  return row;
}

export async function updateRole(
  db: ScopedDb,
  input: {
    tenantId: string;
    id: string;
    name?: string;
    description?: string;
    permissions?: string[];
    who: AuditWho;
  },
): Promise<RoleModel> {
  const before = await customRole(db, input.id);
  try {
    const [row] = await db
      .update(roles)
      .set({
        ...(input.name !== undefined ? { name: input.name.trim(), key: keyFor(input.name) } : {}),
        ...(input.description !== undefined ? { description: input.description.trim() } : {}),
        ...(input.permissions !== undefined ? { permissions: input.permissions } : {}),
        updatedAt: new Date(),
      })
      .where(and(eq(roles.id, input.id), sql`${roles.tenantId} is not null`))
      .returning();
    if (!row) throw new AppError('not-found', 'No such role.');
    const fields = (role: Role) => ({
      name: role.name,
      description: role.description,
      permissions: role.permissions,
    });
    await recordAudit(db, input.tenantId, input.who, {
      action: 'role.updated',
      targets: [target('role', row.id, row.name)],
      changes: changesOf(fields(before), fields(row)),
    });
    return toRoleDto(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'A role with this name already exists.');
    throw error;
  }
}

/** Deletes a custom role that nobody holds; a role in use must be taken from its members first. */
export async function deleteRole(
  db: ScopedDb,
  input: { tenantId: string; id: string; who: AuditWho },
): Promise<void> {
  const { id } = input;
  const role = await customRole(db, id);
  const [held] = await db
    .select({ id: roleAssignments.id })
    .from(roleAssignments)
    .where(eq(roleAssignments.roleId, id))
    .limit(1);
  if (held) throw new AppError('conflict', 'Members still hold this role; change their roles first.');
  await inOrder(
    () => db.delete(roles).where(and(eq(roles.id, id), sql`${roles.tenantId} is not null`)),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'role.deleted',
        targets: [target('role', role.id, role.name)],
        changes: changesOf({ name: role.name, permissions: role.permissions }, null),
      }),
  );
}

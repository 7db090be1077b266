import { and, asc, eq, sql } from 'drizzle-orm';
import type { ScopedDb } from '../../../db/client.ts';
import { isUniqueViolation } from '../../../db/errors.ts';
import { type Role, roleAssignments, roles } from '../../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
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
  input: { tenantId: string; name: string; description?: string; permissions: string[] },
): Promise<RoleModel> {
  try {
    const [row] = await db
      .insert(roles)
      .values({
        tenantId: input.tenantId,
        key: keyFor(input.name),
        name: input.name.trim(),
        description: input.description?.trim() ?? '',
        permissions: input.permissions,
      })
      .returning();
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
  input: { id: string; name?: string; description?: string; permissions?: string[] },
): Promise<RoleModel> {
  await customRole(db, input.id);
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
    return toRoleDto(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'A role with this name already exists.');
    throw error;
  }
}

/** Deletes a custom role that nobody holds; a role in use must be taken from its members first. */
export async function deleteRole(db: ScopedDb, id: string): Promise<void> {
  await customRole(db, id);
  const [held] = await db
    .select({ id: roleAssignments.id })
    .from(roleAssignments)
    .where(eq(roleAssignments.roleId, id))
    .limit(1);
  if (held) throw new AppError('conflict', 'Members still hold this role; change their roles first.');
  await db.delete(roles).where(and(eq(roles.id, id), sql`${roles.tenantId} is not null`));
}

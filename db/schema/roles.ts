import { sql } from 'drizzle-orm';
import { foreignKey, index, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns.ts';
import { memberships } from './memberships.ts';
import { organizations } from './organizations.ts';
import { tenants } from './tenants.ts';

/**
 * A named set of permissions. Built-in roles (`owner admin billing member viewer`) have no tenant and
 * are shared; custom roles belong to one tenant.
 */
export const roles = pgTable(
  'roles',
  {
    id: id(),
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    permissions: text('permissions').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique('roles_tenant_key_key').on(table.tenantId, table.key).nullsNotDistinct(),
    index('roles_tenant_id_idx').on(table.tenantId),
  ],
);

/**
 * A role granted to a member, tenant-wide (`organization_id` null) or on one organization and every
 * organization beneath it.
 */
export const roleAssignments = pgTable(
  'role_assignments',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    userId: uuid('user_id').notNull(),
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id'),
    createdAt: createdAt(),
  },
  (table) => [
    foreignKey({
      name: 'role_assignments_membership_fk',
      columns: [table.tenantId, table.userId],
      foreignColumns: [memberships.tenantId, memberships.userId],
    }).onDelete('cascade'),
    foreignKey({
      name: 'role_assignments_organization_same_tenant_fk',
      columns: [table.tenantId, table.organizationId],
      foreignColumns: [organizations.tenantId, organizations.id],
    }).onDelete('cascade'),
    unique('role_assignments_unique_grant')
      .on(table.tenantId, table.userId, table.roleId, table.organizationId)
      .nullsNotDistinct(),
    index('role_assignments_tenant_user_idx').on(table.tenantId, table.userId),
  ],
);

export type Role = typeof roles.$inferSelect;
export type RoleAssignment = typeof roleAssignments.$inferSelect;

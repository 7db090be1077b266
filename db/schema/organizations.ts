import { sql } from 'drizzle-orm';
import { check, foreignKey, index, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns.ts';
import { tenants } from './tenants.ts';

/**
 * Hierarchical organizations inside a tenant. The parent reference includes `tenant_id`, so the
 * database itself refuses a parent from another tenant.
 */
export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id'),
    name: text('name').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique('organizations_tenant_id_id_key').on(table.tenantId, table.id),
    foreignKey({
      name: 'organizations_parent_same_tenant_fk',
      columns: [table.tenantId, table.parentId],
      foreignColumns: [table.tenantId, table.id],
    }),
    index('organizations_tenant_parent_idx').on(table.tenantId, table.parentId),
    check('organizations_not_own_parent', sql`${table.parentId} is distinct from ${table.id}`),
  ],
);

export type Organization = typeof organizations.$inferSelect;

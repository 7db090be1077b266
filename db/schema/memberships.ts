import { sql } from 'drizzle-orm';
import { check, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { tenants } from './tenants.ts';
import { users } from './users.ts';

export const builtInRoles = ['owner', 'admin', 'billing', 'member', 'viewer'] as const;
export type BuiltInRole = (typeof builtInRoles)[number];

/** A person's place in a tenant. */
export const memberships = pgTable(
  'memberships',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: builtInRoles }).notNull().default('member'),
    status: text('status', { enum: ['active', 'suspended'] })
      .notNull()
      .default('active'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    primaryKey({ name: 'memberships_pkey', columns: [table.tenantId, table.userId] }),
    index('memberships_user_id_idx').on(table.userId),
    check('memberships_role_check', sql`${table.role} in ('owner', 'admin', 'billing', 'member', 'viewer')`),
    check('memberships_status_check', sql`${table.status} in ('active', 'suspended')`),
  ],
);

export type Membership = typeof memberships.$inferSelect;

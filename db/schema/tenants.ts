import { sql } from 'drizzle-orm';
import { check, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns.ts';

/** A customer of the product. Its `id` is the tenant id every tenant-owned row carries. */
export const tenants = pgTable(
  'tenants',
  {
    id: id(),
    name: text('name').notNull(),
    slug: text('slug').notNull().unique(),
    status: text('status', { enum: ['active', 'suspended'] })
      .notNull()
      .default('active'),
    logoUrl: text('logo_url'),
    primaryColor: text('primary_color'),
    customDomain: text('custom_domain'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    check('tenants_status_check', sql`${table.status} in ('active', 'suspended')`),
    check('tenants_primary_color_check', sql`${table.primaryColor} ~ '^#[0-9a-f]{6}$'`),
    uniqueIndex('tenants_custom_domain_key').on(sql`lower(${table.customDomain})`),
  ],
);

export type Tenant = typeof tenants.$inferSelect;

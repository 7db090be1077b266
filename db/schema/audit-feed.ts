import { bigint, index, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

/**
 * The cross-tenant order of audit entries, for platform admins following every tenant (`admin:audit`).
 * The relay assigns `position` when it moves an `audit.recorded` event to the bus, one relay at a time
 * under a global lock held until its commit, so positions become visible in increasing order: a reader
 * resuming after position P misses nothing committed later.
 */
export const auditFeed = pgTable(
  'audit_feed',
  {
    position: bigint('position', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** The `audit.recorded` event's seq in the tenant's event log. */
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
  },
  (table) => [
    primaryKey({ name: 'audit_feed_pkey', columns: [table.position] }),
    index('audit_feed_event_idx').on(table.tenantId, table.eventSeq),
  ],
);

import {
  bigint,
  index,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

/**
 * The transactional outbox and event log: a change and its event commit together. `seq` grows by one
 * per tenant with no gaps (assigned under the tenant's `event_sequences` row, so a tenant's events also
 * commit in `seq` order). Written through `publish_event()` only; never updated.
 */
export const events = pgTable(
  'events',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    id: uuid('id').notNull(),
    type: text('type').notNull(),
    version: smallint('version').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** Who caused it: `{type: 'user', id}`, `{type: 'api_key', id, userId}` or `{type: 'system'}`. */
    actor: jsonb('actor').notNull(),
    data: jsonb('data').notNull(),
  },
  (table) => [
    primaryKey({ name: 'events_pkey', columns: [table.tenantId, table.seq] }),
    index('events_id_idx').on(table.id),
    index('events_tenant_type_seq_idx').on(table.tenantId, table.type, table.seq),
    // For pruning by age (EVENTS_RETENTION_DAYS).
    index('events_occurred_at_idx').on(table.occurredAt),
  ],
);

/** The last `seq` handed out per tenant. */
export const eventSequences = pgTable('event_sequences', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
  /** Events up to this seq may have been pruned (retention): a replay must start after it. */
  prunedSeq: bigint('pruned_seq', { mode: 'number' }).notNull().default(0),
});

/** How far the relay has moved each tenant's events to the bus (system data, no request role reads it). */
export const eventRelayPositions = pgTable('event_relay_positions', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  relayedSeq: bigint('relayed_seq', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type EventRow = typeof events.$inferSelect;

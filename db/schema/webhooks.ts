import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns.ts';
import { tenants } from './tenants.ts';
import { users } from './users.ts';

/**
 * Where a tenant's events are delivered (decision 0018). `eventTypes` null means every deliverable type.
 * Events with seq up to `afterSeq` (the tenant's log when the endpoint was made) are never delivered to
 * it. The signing secret is kept to sign; the API shows it only when it is made (creation, rotation).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description').notNull().default(''),
    eventTypes: text('event_types').array(),
    enabled: boolean('enabled').notNull().default(true),
    /** Why it stopped: `manual`, `gone` (410), `failing` (given up for days); null while enabled. */
    disabledReason: text('disabled_reason'),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** Messages per second at most; null: as fast as deliveries go. */
    rateLimit: integer('rate_limit'),
    /** The rate limit's current one-second window and the messages started in it (all nodes). */
    rateWindowStart: timestamp('rate_window_start', { withTimezone: true }),
    rateWindowCount: integer('rate_window_count').notNull().default(0),
    ordering: text('ordering').notNull().default('none'),
    secret: text('secret').notNull(),
    /** The secret before the last rotation, still signing (beside the new one) until it expires. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    afterSeq: bigint('after_seq', { mode: 'number' }).notNull(),
    /** Since when every attempt has failed (null after a success). */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    /** Messages given up in a row, with no success between. */
    givenUpInARow: integer('given_up_in_a_row').notNull().default(0),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique('webhook_endpoints_tenant_id_id_key').on(table.tenantId, table.id),
    check('webhook_endpoints_ordering', sql`${table.ordering} in ('none', 'per-endpoint')`),
    check('webhook_endpoints_rate_limit', sql`${table.rateLimit} is null or ${table.rateLimit} > 0`),
  ],
);

export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;

/** How far the tenant's log has been fanned out into deliveries. */
export const webhookCursors = pgTable('webhook_cursors', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
});

/**
 * One event as delivered: the exact body every attempt and replay sends (the envelope), kept here so a
 * retry days later does not depend on the event log's retention. `eventId` is the `webhook-id`.
 */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({ name: 'webhook_messages_pkey', columns: [table.tenantId, table.eventId] }),
    // For pruning by age.
    index('webhook_messages_created_at_idx').on(table.createdAt),
  ],
);

/**
 * A message on its way to one endpoint. `pending` deliveries with `nextAttemptAt` due are claimed by one
 * node at a time (`leaseUntil`); `succeeded` and `failed` (given up) are final; a replay is a new delivery
 * of the same message (`replayOf`), so the receiver sees the same `webhook-id`.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    eventId: uuid('event_id').notNull(),
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    replayOf: uuid('replay_of'),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    leaseOwner: text('lease_owner'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    succeededAt: timestamp('succeeded_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique('webhook_deliveries_tenant_id_id_key').on(table.tenantId, table.id),
    foreignKey({
      name: 'webhook_deliveries_endpoint_fk',
      columns: [table.tenantId, table.endpointId],
      foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'webhook_deliveries_message_fk',
      columns: [table.tenantId, table.eventId],
      foreignColumns: [webhookMessages.tenantId, webhookMessages.eventId],
    }).onDelete('cascade'),
    // Fan-out makes one delivery per (endpoint, message); replays are extra.
    uniqueIndex('webhook_deliveries_first_key')
      .on(table.endpointId, table.eventId)
      .where(sql`${table.replayOf} is null`),
    index('webhook_deliveries_due_idx').on(table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    index('webhook_deliveries_endpoint_pending_idx')
      .on(table.endpointId, table.eventSeq)
      .where(sql`${table.status} = 'pending'`),
    index('webhook_deliveries_tenant_idx').on(table.tenantId, table.id),
    index('webhook_deliveries_endpoint_idx').on(table.endpointId, table.id),
    // A message's deliveries (pruning, and the cascade from a pruned message).
    index('webhook_deliveries_message_idx').on(table.tenantId, table.eventId),
    check(
      'webhook_deliveries_status',
      sql`${table.status} in ('pending', 'succeeded', 'failed', 'cancelled')`,
    ),
  ],
);

export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

/** Every HTTP attempt of a delivery: what was answered, how fast, and why it failed. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    attempt: integer('attempt').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    /** Null on success; else `http-status`, `timeout`, `connection`, `tls`, `dns`, `blocked-address`, `redirect`. */
    errorClass: text('error_class'),
    error: text('error'),
    /** The first 4 KB of the answer's body, as text. */
    responseExcerpt: text('response_excerpt'),
    node: text('node').notNull(),
  },
  (table) => [
    foreignKey({
      name: 'webhook_attempts_delivery_fk',
      columns: [table.tenantId, table.deliveryId],
      foreignColumns: [webhookDeliveries.tenantId, webhookDeliveries.id],
    }).onDelete('cascade'),
    index('webhook_attempts_delivery_idx').on(table.tenantId, table.deliveryId, table.attempt),
    // An endpoint's health: its attempts of the last day, and its newest failure.
    index('webhook_attempts_endpoint_idx').on(table.endpointId, table.startedAt),
  ],
);

export type WebhookAttempt = typeof webhookAttempts.$inferSelect;

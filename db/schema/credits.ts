import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns.ts';
import { tenants } from './tenants.ts';

/** One row per tenant: the balance every credit movement locks, so a tenant's movements serialise. */
export const creditBalances = pgTable(
  'credit_balances',
  {
    tenantId: uuid('tenant_id')
      .primaryKey()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    balance: bigint('balance', { mode: 'number' }).notNull().default(0),
    lowBalanceThreshold: bigint('low_balance_threshold', { mode: 'number' }),
    belowThreshold: boolean('below_threshold').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('credit_balances_not_negative', sql`${table.balance} >= 0`)],
);

/** Credits added by a grant, a purchase or a plan allowance; consumption takes the soonest-expiring first. */
export const creditLots = pgTable(
  'credit_lots',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    source: text('source', { enum: ['grant', 'purchase', 'allowance', 'adjust', 'refund'] }).notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    remaining: bigint('remaining', { mode: 'number' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** What paid for it outside (a Checkout session, an invoice): the same payment never adds credits twice. */
    externalId: text('external_id'),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('credit_lots_external_id_idx')
      .on(table.tenantId, table.source, table.externalId)
      .where(sql`${table.externalId} is not null`),
    index('credit_lots_spendable_idx')
      .on(table.tenantId, table.expiresAt, table.createdAt)
      .where(sql`${table.remaining} > 0`),
    check(
      'credit_lots_remaining_range',
      sql`${table.remaining} >= 0 and ${table.remaining} <= ${table.amount}`,
    ),
  ],
);

/** The append-only ledger: every movement, with the balance after it. Never updated, never deleted. */
export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    type: text('type', {
      enum: ['grant', 'purchase', 'consume', 'reserve', 'capture', 'release', 'expire', 'adjust', 'refund'],
    }).notNull(),
    /** Signed: positive adds to the balance, negative takes from it. */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    balanceAfter: bigint('balance_after', { mode: 'number' }).notNull(),
    lotId: uuid('lot_id'),
    reason: text('reason').notNull(),
    metadata: jsonb('metadata').notNull().default({}),
    actor: jsonb('actor').notNull(),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
  },
  (table) => [
    index('credit_ledger_tenant_id_idx').on(table.tenantId, table.id),
    check('credit_ledger_balance_after_not_negative', sql`${table.balanceAfter} >= 0`),
  ],
);

/** The first answer to a request with an `Idempotency-Key`, replayed byte for byte to any retry. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** Method, path and body, hashed: the same key with another request is a conflict. */
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    responseBody: text('response_body').notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ name: 'idempotency_keys_pkey', columns: [table.tenantId, table.key] })],
);

/** Credits held for metered work: captured (in part or whole) or released, or released when they expire. */
export const creditReservations = pgTable(
  'credit_reservations',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    captured: bigint('captured', { mode: 'number' }).notNull().default(0),
    status: text('status', { enum: ['held', 'captured', 'released', 'expired'] })
      .notNull()
      .default('held'),
    /** When the credits it drew would have expired (the soonest of its lots); released credits keep it. */
    creditsExpireAt: timestamp('credits_expire_at', { withTimezone: true }),
    reason: text('reason').notNull(),
    metadata: jsonb('metadata').notNull().default({}),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  (table) => [
    index('credit_reservations_held_idx')
      .on(table.tenantId, table.expiresAt)
      .where(sql`${table.status} = 'held'`),
    check(
      'credit_reservations_captured_range',
      sql`${table.captured} >= 0 and ${table.captured} <= ${table.amount}`,
    ),
  ],
);

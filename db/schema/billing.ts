import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { tenants } from './tenants.ts';

/** Plans tenants subscribe to, synced from the billing catalog at start (platform data, no tenant). */
export const plans = pgTable('plans', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  /** The Stripe price Checkout sells; null for a plan only a platform admin can set. */
  stripePriceId: text('stripe_price_id').unique(),
  /** Credits granted each month of a paid period (a yearly period grants twelve months at once). */
  monthlyCredits: bigint('monthly_credits', { mode: 'number' }).notNull().default(0),
  /** What the price is, for display; Stripe's price is what is charged. */
  priceAmount: integer('price_amount'),
  currency: text('currency'),
  interval: text('interval', { enum: ['month', 'year'] })
    .notNull()
    .default('month'),
  limits: jsonb('limits').notNull().default({}),
  position: integer('position').notNull().default(0),
  /** A plan removed from the catalog stays for the tenants still on it, but is no longer offered. */
  active: boolean('active').notNull().default(true),
  updatedAt: updatedAt(),
});

/** One-off credit purchases through Checkout. */
export const creditPacks = pgTable(
  'credit_packs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    credits: bigint('credits', { mode: 'number' }).notNull(),
    stripePriceId: text('stripe_price_id').unique(),
    priceAmount: integer('price_amount'),
    currency: text('currency'),
    position: integer('position').notNull().default(0),
    active: boolean('active').notNull().default(true),
    updatedAt: updatedAt(),
  },
  (table) => [check('credit_packs_credits_positive', sql`${table.credits} > 0`)],
);

export const subscriptionStatuses = [
  'none',
  'active',
  'trialing',
  'past_due',
  'canceled',
  'unpaid',
  'incomplete',
  'incomplete_expired',
  'paused',
] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

/** A tenant's plan and its Stripe customer and subscription: one row per tenant. */
export const billingAccounts = pgTable('billing_accounts', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  /** One Stripe customer per tenant, created the first time the tenant goes to Checkout or the Portal. */
  stripeCustomerId: text('stripe_customer_id').unique(),
  planId: text('plan_id').references(() => plans.id),
  /** Who set the plan: a Stripe subscription, or a platform admin by hand. */
  source: text('source', { enum: ['stripe', 'manual'] }),
  status: text('status', { enum: subscriptionStatuses }).notNull().default('none'),
  stripeSubscriptionId: text('stripe_subscription_id').unique(),
  currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
  currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  /** `created` of the newest Stripe event applied to the subscription: an older one arriving late is stale. */
  subscriptionEventAt: timestamp('subscription_event_at', { withTimezone: true }),
  updatedAt: updatedAt(),
});

/** Every Stripe event applied, by Stripe's id: written in the transaction of its effect, so it counts once. */
export const stripeEvents = pgTable(
  'stripe_events',
  {
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    /** What it did: applied, or why it changed nothing (stale, another subscription…). */
    outcome: text('outcome').notNull(),
    stripeCreatedAt: timestamp('stripe_created_at', { withTimezone: true }).notNull(),
    receivedAt: createdAt(),
  },
  (table) => [index('stripe_events_tenant_id_idx').on(table.tenantId, table.receivedAt)],
);

export type Plan = typeof plans.$inferSelect;
export type BillingAccount = typeof billingAccounts.$inferSelect;

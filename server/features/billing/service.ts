import { and, asc, eq, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import type { Database, ScopedDb } from '../../../db/client.ts';
import {
  type BillingAccount,
  billingAccounts,
  creditPacks,
  type Plan,
  plans,
  type SubscriptionStatus,
  tenants,
  users,
} from '../../../db/schema/index.ts';
import { withPlatformAdmin, withTenant } from '../../../db/tenant.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../../plugins/authentication.ts';
import { requirePlatformAdmin } from '../admin/service.ts';
import { type AuditWho, recordAudit, target } from '../audit/record.ts';
import { addCredits, type LedgerActor, removeCredits } from '../credits/service.ts';
import type { CreditMovementModel } from '../shared-model.ts';
import type { CheckoutBody, CreditPackModel, PlanModel, RedirectModel, SubscriptionModel } from './model.ts';
import { type BillingDeps, callStripe, requireStripe } from './stripe.ts';

type PackRow = typeof creditPacks.$inferSelect;

export const toPlan = (plan: Plan): PlanModel => ({
  id: plan.id,
  name: plan.name,
  description: plan.description,
  monthlyCredits: plan.monthlyCredits,
  price:
    plan.priceAmount === null || plan.currency === null
      ? null
      : { amount: plan.priceAmount, currency: plan.currency, interval: plan.interval },
  limits: plan.limits as Record<string, number>,
});

const toCreditPack = (pack: PackRow): CreditPackModel => ({
  id: pack.id,
  name: pack.name,
  credits: pack.credits,
  price:
    pack.priceAmount === null || pack.currency === null
      ? null
      : { amount: pack.priceAmount, currency: pack.currency },
});

export function toSubscription(
  account: BillingAccount | undefined,
  plan: Plan | undefined,
): SubscriptionModel {
  return {
    planId: account?.planId ?? null,
    plan: plan ? toPlan(plan) : null,
    status: account?.status ?? 'none',
    source: account?.source ?? null,
    currentPeriodStart: account?.currentPeriodStart?.toISOString() ?? null,
    currentPeriodEnd: account?.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: account?.cancelAtPeriodEnd ?? false,
    customer: Boolean(account?.stripeCustomerId),
  };
}

/** Statuses in which a Stripe subscription still bills the tenant (a new Checkout would double it). */
export const LIVE_STATUSES: ReadonlySet<SubscriptionStatus> = new Set([
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'incomplete',
  'paused',
]);

/** The plans and credit packs on offer, in catalog order. */
export async function listCatalog(
  db: ScopedDb,
): Promise<{ items: PlanModel[]; creditPacks: CreditPackModel[] }> {
  const [planRows, packRows] = [
    await db.select().from(plans).where(eq(plans.active, true)).orderBy(asc(plans.position)),
    await db
      .select()
      .from(creditPacks)
      .where(eq(creditPacks.active, true))
      .orderBy(asc(creditPacks.position)),
  ];
  return { items: planRows.map(toPlan), creditPacks: packRows.map(toCreditPack) };
}

export async function readSubscription(db: ScopedDb, tenantId: string): Promise<SubscriptionModel> {
  const [row] = await db
    .select({ account: billingAccounts, plan: plans })
    .from(billingAccounts)
    .leftJoin(plans, eq(plans.id, billingAccounts.planId))
    .where(eq(billingAccounts.tenantId, tenantId));
  return toSubscription(row?.account, row?.plan ?? undefined);
}

/**
 * Locks the tenant's billing account (creating it the first time): plan changes and Stripe events of one
 * tenant apply one at a time.
 */
export async function lockBillingAccount(db: ScopedDb, tenantId: string): Promise<BillingAccount> {
  const [account] = await db
    .insert(billingAccounts)
    .values({ tenantId })
    .onConflictDoUpdate({ target: billingAccounts.tenantId, set: { tenantId: sql`excluded.tenant_id` } })
    .returning();
  if (!account) throw new Error('billing account upsert returned nothing');
  return account;
}

/** Publishes the subscription as it now is (after a change committed in the same transaction). */
export async function publishSubscription(db: ScopedDb, account: BillingAccount): Promise<SubscriptionModel> {
  const [plan] = account.planId ? await db.select().from(plans).where(eq(plans.id, account.planId)) : [];
  const subscription = toSubscription(account, plan);
  await publish(db, 'billing.subscription.updated', { subscription });
  return subscription;
}

/**
 * The tenant's Stripe customer, created the first time. Concurrent first calls converge on one customer:
 * the create carries an idempotency key derived from the tenant (and the customer it replaces, if any),
 * and the id is stored only where none is.
 */
async function ensureCustomer(
  database: Database,
  deps: BillingDeps,
  actor: Actor,
  replacing: string | null = null,
): Promise<string> {
  const stripe = requireStripe(deps);
  // The usual case, a customer already made, costs one read; who to name the customer after, only when
  // one is made.
  const [account] = await withTenant(database, actor, (db) =>
    db.select().from(billingAccounts).where(eq(billingAccounts.tenantId, actor.tenantId)),
  );
  if (account?.stripeCustomerId) return account.stripeCustomerId;
  const known = await withTenant(database, actor, async (db) => {
    const [tenant] = await db
      .select({ name: tenants.name })
      .from(tenants)
      .where(eq(tenants.id, actor.tenantId));
    const [user] = await db.select({ email: users.email }).from(users).where(eq(users.id, actor.userId));
    return { tenantName: tenant?.name ?? '', email: user?.email };
  });
  const customer = await callStripe('create the customer', () =>
    stripe.customers.create(
      {
        name: known.tenantName,
        ...(known.email ? { email: known.email } : {}),
        metadata: { tenantId: actor.tenantId },
      },
      { idempotencyKey: `wrapper-customer-${actor.tenantId}${replacing ? `-after-${replacing}` : ''}` },
    ),
  );
  const stored = await withTenant(database, actor.tenantId, async (db) => {
    await lockBillingAccount(db, actor.tenantId);
    const [stored] = await db
      .update(billingAccounts)
      .set({
        stripeCustomerId: sql`coalesce(${billingAccounts.stripeCustomerId}, ${customer.id})`,
        updatedAt: new Date(),
      })
      .where(eq(billingAccounts.tenantId, actor.tenantId))
      .returning();
    if (!stored) throw new Error('billing account vanished');
    return stored;
  });
  return stored.stripeCustomerId ?? customer.id;
}

/** Stripe does not know the stored customer: deleted there, or the platform moved to another account or mode. */
const isMissingCustomer = (error: unknown) =>
  error instanceof Stripe.errors.StripeInvalidRequestError &&
  error.code === 'resource_missing' &&
  error.param === 'customer';

/**
 * Runs `call` with the tenant's Stripe customer. When Stripe no longer knows that customer (a platform
 * moving from test to live keys is the usual cause), the stored id is dropped and a new customer made,
 * once, instead of failing every Checkout from then on.
 */
async function withCustomer<T>(
  database: Database,
  deps: BillingDeps,
  actor: Actor,
  what: string,
  call: (customerId: string) => Promise<T>,
): Promise<T> {
  const customerId = await ensureCustomer(database, deps, actor);
  try {
    return await call(customerId);
  } catch (error) {
    if (!isMissingCustomer(error)) return callStripe(what, () => Promise.reject(error));
  }
  await withTenant(database, actor.tenantId, (db) =>
    db
      .update(billingAccounts)
      .set({ stripeCustomerId: null, updatedAt: new Date() })
      .where(
        and(eq(billingAccounts.tenantId, actor.tenantId), eq(billingAccounts.stripeCustomerId, customerId)),
      ),
  );
  const replacement = await ensureCustomer(database, deps, actor, customerId);
  return callStripe(what, () => call(replacement));
}

/**
 * A Stripe Checkout page for a plan (a subscription) or a credit pack (a one-off payment). What is bought
 * is written into the session's metadata; the webhook, not the return to the app, applies it.
 */
export async function startCheckout(
  database: Database,
  deps: BillingDeps,
  actor: Actor,
  input: CheckoutBody,
): Promise<RedirectModel> {
  const offer = await withTenant(database, actor, async (db) => {
    // After the permission check (run first in the transaction), before anything about the offer.
    requireStripe(deps);
    if (input.planId) {
      const [plan] = await db
        .select()
        .from(plans)
        .where(and(eq(plans.id, input.planId), eq(plans.active, true)));
      if (!plan) throw new AppError('not-found', 'No such plan.');
      if (!plan.stripePriceId)
        throw new AppError(
          'not-purchasable',
          `The ${plan.name} plan has no Stripe price; a platform admin sets it.`,
        );
      const [account] = await db
        .select()
        .from(billingAccounts)
        .where(eq(billingAccounts.tenantId, actor.tenantId));
      if (account?.stripeSubscriptionId && LIVE_STATUSES.has(account.status)) {
        throw new AppError(
          'subscription-exists',
          'The tenant already has a subscription; change or cancel it in the billing portal.',
        );
      }
      const metadata: Record<string, string> = { planId: plan.id };
      return { mode: 'subscription' as const, priceId: plan.stripePriceId, metadata };
    }
    const [pack] = await db
      .select()
      .from(creditPacks)
      .where(and(eq(creditPacks.id, input.creditPackId ?? ''), eq(creditPacks.active, true)));
    if (!pack) throw new AppError('not-found', 'No such credit pack.');
    if (!pack.stripePriceId) throw new AppError('not-purchasable', `${pack.name} has no Stripe price.`);
    const metadata: Record<string, string> = { creditPackId: pack.id };
    return { mode: 'payment' as const, priceId: pack.stripePriceId, metadata };
  });
  const stripe = requireStripe(deps);
  const metadata = { tenantId: actor.tenantId, ...offer.metadata };
  const session = await withCustomer(database, deps, actor, 'open Checkout', (customer) =>
    stripe.checkout.sessions.create({
      mode: offer.mode,
      customer,
      client_reference_id: actor.tenantId,
      line_items: [{ price: offer.priceId, quantity: 1 }],
      success_url: `${deps.appUrl}/billing?checkout=success`,
      cancel_url: `${deps.appUrl}/billing?checkout=cancelled`,
      metadata,
      ...(offer.mode === 'subscription'
        ? { subscription_data: { metadata } }
        : { payment_intent_data: { metadata } }),
    }),
  );
  if (!session.url) throw new AppError('billing-provider-unavailable', 'Stripe gave no Checkout URL.');
  // What changed is at Stripe: recorded once Stripe answered (the plan or pack is applied by the webhook).
  await withTenant(database, actor.tenantId, (db) =>
    recordAudit(db, actor.tenantId, actor.who, {
      action: 'billing.checkout_started',
      targets: [
        input.planId ? target('plan', input.planId) : target('credit_pack', input.creditPackId ?? ''),
      ],
      metadata: { mode: offer.mode, checkoutSessionId: session.id },
    }),
  );
  return { url: session.url };
}

/** The Stripe Customer Portal for the tenant: change plan, payment method, cancel, invoices. */
export async function openPortal(
  database: Database,
  deps: BillingDeps,
  actor: Actor,
): Promise<RedirectModel> {
  // The permission check runs first, then whether Stripe is there at all.
  await withTenant(database, actor, async () => {});
  const stripe = requireStripe(deps);
  const session = await withCustomer(database, deps, actor, 'open the billing portal', (customer) =>
    stripe.billingPortal.sessions.create({ customer, return_url: `${deps.appUrl}/billing` }),
  );
  await withTenant(database, actor.tenantId, (db) =>
    recordAudit(db, actor.tenantId, actor.who, {
      action: 'billing.portal_opened',
      targets: [target('tenant', actor.tenantId)],
      metadata: { portalSessionId: session.id },
    }),
  );
  return { url: session.url };
}

/** A plan set by hand runs in periods of 30 days (a yearly plan: 365), like a subscription would. */
const PERIOD_DAYS = { month: 30, year: 365 } as const;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Starts a period of a plan set by hand at `start`, with the plan's allowance expiring at its end (once
 * per period: the lot is keyed by the period's start). Under the billing account's lock.
 */
export async function startManualPeriod(
  db: ScopedDb,
  tenantId: string,
  plan: Plan,
  start: Date,
  actor: LedgerActor,
): Promise<{ account: BillingAccount; creditsGranted: number }> {
  const end = new Date(start.getTime() + PERIOD_DAYS[plan.interval] * DAY_MS);
  const [account] = await db
    .update(billingAccounts)
    .set({ currentPeriodStart: start, currentPeriodEnd: end, updatedAt: new Date() })
    .where(eq(billingAccounts.tenantId, tenantId))
    .returning();
  if (!account) throw new Error('billing account vanished');
  const amount = plan.monthlyCredits * (plan.interval === 'year' ? 12 : 1);
  if (amount === 0) return { account, creditsGranted: 0 };
  const added = await addCredits(db, {
    tenantId,
    source: 'allowance',
    amount,
    reason: `${plan.name} plan allowance`,
    expiresAt: end,
    metadata: { planId: plan.id, periodStart: start.toISOString(), periodEnd: end.toISOString() },
    actor,
    externalId: `manual:${start.toISOString()}`,
  });
  return { account, creditsGranted: added ? amount : 0 };
}

/**
 * A platform admin sets a tenant's plan by hand (or removes it with null), in the caller's platform-admin
 * transaction acting in the tenant: a plan from Stripe is left to Stripe. Setting a plan starts a month
 * with the plan's allowance (expiring at its end). The caller records it (`admin.tenant_updated`).
 */
export async function setPlanByAdmin(
  db: ScopedDb,
  input: { adminUserId: string; sessionId?: string; tenantId: string; planId: string | null },
): Promise<{
  from: string | null;
  to: string | null;
  creditsGranted: number;
  subscription: SubscriptionModel;
}> {
  await requireTenantForAdmin(db, input);
  const [plan] = input.planId ? await db.select().from(plans).where(eq(plans.id, input.planId)) : [];
  if (input.planId && !plan) {
    throw new AppError('validation-failed', `No plan "${input.planId}".`, {
      errors: [{ path: '/planId', message: 'Not a plan of the catalog' }],
    });
  }
  const before = await lockBillingAccount(db, input.tenantId);
  if (before.source === 'stripe' && before.stripeSubscriptionId && LIVE_STATUSES.has(before.status)) {
    throw new AppError(
      'subscription-exists',
      'This tenant pays through a Stripe subscription; change the plan in Stripe (or cancel it first).',
    );
  }
  const now = new Date();
  const [after] = await db
    .update(billingAccounts)
    .set({
      planId: plan?.id ?? null,
      source: plan ? 'manual' : null,
      status: plan ? 'active' : 'none',
      stripeSubscriptionId: null,
      currentPeriodStart: null,
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      updatedAt: now,
    })
    .where(eq(billingAccounts.tenantId, input.tenantId))
    .returning();
  if (!after) throw new Error('billing account vanished');
  const period = plan
    ? await startManualPeriod(db, input.tenantId, plan, now, {
        type: 'platform_admin',
        id: input.adminUserId,
      })
    : { account: after, creditsGranted: 0 };
  const subscription = await publishSubscription(db, period.account);
  return { from: before.planId, to: plan?.id ?? null, creditsGranted: period.creditsGranted, subscription };
}

/** A platform admin in a live session, acting on a tenant that exists. */
async function requireTenantForAdmin(db: ScopedDb, input: { sessionId?: string; tenantId: string }) {
  await requirePlatformAdmin(db, input.sessionId);
  const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, input.tenantId));
  if (!tenant) throw new AppError('not-found', 'No such tenant.');
}

/** A platform admin adds (positive) or removes (negative) credits by hand: an `adjust` entry, recorded. */
export async function adjustCreditsByAdmin(
  database: Database,
  input: {
    adminUserId: string;
    sessionId?: string;
    tenantId: string;
    amount: number;
    reason: string;
    expiresAt: Date | null;
    /** The admin's own audit identity (actor type `platform_admin`). */
    who: AuditWho;
  },
): Promise<CreditMovementModel> {
  if (input.amount === 0) {
    throw new AppError('validation-failed', 'An adjustment adds or removes at least one credit.', {
      errors: [{ path: '/amount', message: 'Must not be 0' }],
    });
  }
  if (input.expiresAt && (input.amount < 0 || input.expiresAt <= new Date())) {
    throw new AppError('validation-failed', 'Only added credits can expire, and only in the future.', {
      errors: [{ path: '/expiresAt', message: 'Must be in the future, with a positive amount' }],
    });
  }
  return withPlatformAdmin(
    database,
    input.adminUserId,
    async (db) => {
      await requireTenantForAdmin(db, input);
      const actor: LedgerActor = { type: 'platform_admin', id: input.adminUserId };
      const moved =
        input.amount > 0
          ? await addCredits(db, {
              tenantId: input.tenantId,
              source: 'adjust',
              amount: input.amount,
              reason: input.reason,
              expiresAt: input.expiresAt,
              metadata: {},
              actor,
            })
          : await removeCredits(db, {
              tenantId: input.tenantId,
              amount: -input.amount,
              reason: input.reason,
              metadata: {},
              actor,
            });
      if (!moved) throw new Error('an adjustment without an external id cannot be a duplicate');
      // The audit entry is the record of what the admin did (it replaces the admin_actions row).
      await recordAudit(db, input.tenantId, input.who, {
        action: 'admin.credits_adjusted',
        targets: [target('tenant', input.tenantId), target('credit_transaction', moved.transaction.id)],
        metadata: {
          amount: input.amount,
          reason: input.reason,
          expiresAt: input.expiresAt?.toISOString() ?? null,
          balanceAfter: moved.balance,
        },
      });
      return moved;
    },
    { tenantId: input.tenantId },
  );
}

import { eq, sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import { type Database, inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import {
  billingAccounts,
  creditPacks,
  plans,
  type SubscriptionStatus,
  stripeEvents,
  subscriptionStatuses,
  tenants,
} from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { type AuditRecord, changesOf, recordAudit, stripeWho, target } from '../audit/record.ts';
import { addCredits, type LedgerActor, refundPurchase } from '../credits/service.ts';
import { LIVE_STATUSES, lockBillingAccount, publishSubscription } from './service.ts';
import { type BillingDeps, callStripe, requireStripe } from './stripe.ts';
import { handledStripeEvents, requireHandledShape } from './webhook-shapes.ts';

/** What the webhook did with an event; also stored with the event id. */
export type WebhookOutcome =
  | 'applied'
  | 'duplicate'
  | 'ignored'
  | 'unknown-customer'
  | 'stale'
  | 'other-subscription'
  | 'awaiting-payment'
  | 'purchased'
  | 'already-applied'
  | 'allowance-granted'
  | 'recorded'
  | 'refunded'
  | 'nothing-to-refund';

const SUBSCRIPTION_EVENTS = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === 'string' ? value : (value?.id ?? null);
const fromUnix = (seconds: number | null | undefined): Date | null =>
  typeof seconds === 'number' ? new Date(seconds * 1000) : null;

/**
 * Verifies and applies one Stripe webhook. The signature is checked on the exact bytes received, with
 * the timestamp tolerance; each Stripe event id is applied once: its id is written in the transaction
 * of its effect, so a second delivery (even a concurrent one, which waits on the first) changes nothing.
 * Calls to Stripe happen before that transaction, never inside it.
 */
export async function receiveStripeWebhook(
  database: Database,
  deps: BillingDeps,
  logger: Logger,
  input: { body: string; signature: string | null },
): Promise<{ received: true; outcome: WebhookOutcome }> {
  const stripe = requireStripe(deps);
  if (!deps.webhookSecret) {
    throw new AppError('billing-not-configured', 'No STRIPE_WEBHOOK_SECRET: webhooks cannot be verified.');
  }
  if (!input.signature) throw new AppError('webhook-signature-invalid', 'No Stripe-Signature header.');
  let event: Stripe.Event;
  try {
    event = await stripe.webhooks.constructEventAsync(
      input.body,
      input.signature,
      deps.webhookSecret,
      deps.webhookToleranceSeconds,
    );
  } catch (error) {
    const message = (error as Error).message;
    throw new AppError(
      'webhook-signature-invalid',
      /timestamp/i.test(message)
        ? `The signature's timestamp is outside the ${deps.webhookToleranceSeconds} s tolerance.`
        : 'The signature does not match the payload for this endpoint’s secret.',
    );
  }
  if (!handledStripeEvents.has(event.type)) return { received: true, outcome: 'ignored' };
  requireHandledShape(event);

  const object = event.data.object as {
    customer?: string | { id: string } | null;
    metadata?: Record<string, string> | null;
  };
  const tenantId = await tenantOfEvent(database, idOf(object.customer), object.metadata?.tenantId);
  if (!tenantId) {
    logger.warn({ stripeEventId: event.id, type: event.type }, 'stripe event for no known tenant');
    return { received: true, outcome: 'unknown-customer' };
  }
  const current = await currentSubscription(database, stripe, tenantId, event);
  const eventAt = new Date(event.created * 1000);

  const outcome = await withTenant(database, tenantId, async (db) => {
    const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) return 'unknown-customer' as const;
    const [first] = await db
      .insert(stripeEvents)
      .values({ id: event.id, tenantId, type: event.type, outcome: 'applied', stripeCreatedAt: eventAt })
      .onConflictDoNothing()
      .returning({ id: stripeEvents.id });
    if (!first) return 'duplicate' as const;
    const result = await applyEvent(db, tenantId, event, eventAt, current);
    await db.update(stripeEvents).set({ outcome: result }).where(eq(stripeEvents.id, event.id));
    return result;
  });
  logger.info({ stripeEventId: event.id, type: event.type, tenantId, outcome }, 'stripe event');
  return { received: true, outcome };
}

/** The tenant of the event's customer; the tenant id Wrapper wrote into the metadata when it has none. */
async function tenantOfEvent(
  database: Database,
  customerId: string | null,
  metadataTenantId: string | undefined,
): Promise<string | null> {
  if (customerId) {
    const [row] = await database.transaction({ role: 'app_user' }, (db) =>
      selectRows<{ tenant_id: string | null }>(
        db,
        sql`select billing_tenant_of_customer(${customerId}) as tenant_id`,
      ),
    );
    if (row?.tenant_id) return row.tenant_id;
  }
  return metadataTenantId && UUID.test(metadataTenantId) ? metadataTenantId : null;
}

/**
 * The subscription as Stripe has it now, when the event alone cannot say: a completed subscription
 * Checkout (the session names the subscription only), and a subscription event stamped in the same
 * second as the last one applied (Stripe's `created` is in seconds, so their order is unknown).
 */
async function currentSubscription(
  database: Database,
  stripe: Stripe,
  tenantId: string,
  event: Stripe.Event,
): Promise<Stripe.Subscription | null> {
  let subscriptionId: string | null = null;
  if (
    event.type === 'checkout.session.completed' ||
    event.type === 'checkout.session.async_payment_succeeded'
  ) {
    const session = event.data.object;
    if (session.mode === 'subscription') subscriptionId = idOf(session.subscription);
  } else if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const subscription = event.data.object as Stripe.Subscription;
    const [account] = await withTenant(database, tenantId, (db) =>
      db
        .select({ at: billingAccounts.subscriptionEventAt })
        .from(billingAccounts)
        .where(eq(billingAccounts.tenantId, tenantId)),
    );
    if (account?.at && account.at.getTime() === event.created * 1000) subscriptionId = subscription.id;
  }
  if (!subscriptionId) return null;
  const id = subscriptionId;
  return callStripe('read the subscription', () => stripe.subscriptions.retrieve(id));
}

async function applyEvent(
  db: ScopedDb,
  tenantId: string,
  event: Stripe.Event,
  eventAt: Date,
  current: Stripe.Subscription | null,
): Promise<WebhookOutcome> {
  const actor: LedgerActor = { type: 'stripe', eventId: event.id };
  // Each effect is recorded once, in its transaction, as done by Stripe (the event names it).
  const audit = (record: AuditRecord) =>
    recordAudit(db, tenantId, stripeWho(event.id), {
      ...record,
      metadata: { stripeEventId: event.id, stripeEventType: event.type, ...record.metadata },
    });
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object;
      if (session.mode === 'subscription') {
        return current ? applySubscription(db, tenantId, current, eventAt, true, audit) : 'ignored';
      }
      if (session.mode !== 'payment') return 'ignored';
      // Delayed payment methods complete the session unpaid; `async_payment_succeeded` follows.
      if (session.payment_status !== 'paid') return 'awaiting-payment';
      return purchaseCreditPack(db, tenantId, session, actor, audit);
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed':
      return current
        ? applySubscription(db, tenantId, current, eventAt, true, audit)
        : applySubscription(db, tenantId, event.data.object, eventAt, false, audit);
    case 'invoice.paid':
      return invoicePaid(db, tenantId, event.data.object, actor, audit);
    case 'invoice.payment_failed': {
      const invoice = event.data.object;
      await inOrder(
        () =>
          publish(db, 'billing.payment_failed', {
            invoiceId: invoice.id ?? '',
            amountDue: invoice.amount_due,
            currency: invoice.currency,
            attemptCount: invoice.attempt_count,
            nextPaymentAttemptAt: fromUnix(invoice.next_payment_attempt)?.toISOString() ?? null,
            hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
          }),
        () =>
          audit({
            action: 'billing.payment_failed',
            targets: [target('invoice', invoice.id ?? '')],
            metadata: {
              amountDue: invoice.amount_due,
              currency: invoice.currency,
              attemptCount: invoice.attempt_count,
            },
          }),
      );
      return 'recorded';
    }
    case 'charge.refunded':
      return chargeRefunded(db, tenantId, event.data.object, actor, audit);
    default:
      return 'ignored';
  }
}

/**
 * Applies a subscription as Stripe describes it. A snapshot older than the last one applied is stale
 * (Stripe does not deliver in order); an event about another subscription than the tenant's counts only
 * when it starts a live one where the tenant has none live (a new subscription after a cancelled one).
 */
async function applySubscription(
  db: ScopedDb,
  tenantId: string,
  subscription: Stripe.Subscription,
  eventAt: Date,
  fetchedNow: boolean,
  audit: (record: AuditRecord) => Promise<unknown>,
): Promise<WebhookOutcome> {
  const account = await lockBillingAccount(db, tenantId);
  const status = knownStatus(subscription.status);
  const live = LIVE_STATUSES.has(status);
  const lastAt = account.subscriptionEventAt;
  if (account.stripeSubscriptionId && account.stripeSubscriptionId !== subscription.id) {
    const replaces = live && (!LIVE_STATUSES.has(account.status) || !lastAt || eventAt > lastAt);
    if (!replaces) return 'other-subscription';
  } else if (!fetchedNow && lastAt && eventAt < lastAt) {
    return 'stale';
  }
  const item = subscription.items.data[0];
  const priceId = item ? idOf(item.price) : null;
  const [byPrice] = priceId ? await db.select().from(plans).where(eq(plans.stripePriceId, priceId)) : [];
  const metadataPlanId = subscription.metadata?.planId;
  const [byMetadata] =
    !byPrice && metadataPlanId ? await db.select().from(plans).where(eq(plans.id, metadataPlanId)) : [];
  const plan = byPrice ?? byMetadata;
  const ended = status === 'canceled' || status === 'incomplete_expired';
  const [after] = await db
    .update(billingAccounts)
    .set({
      planId: ended ? null : (plan?.id ?? null),
      source: 'stripe',
      status,
      stripeSubscriptionId: subscription.id,
      currentPeriodStart: fromUnix(item?.current_period_start),
      currentPeriodEnd: fromUnix(item?.current_period_end),
      cancelAtPeriodEnd: subscription.cancel_at_period_end,
      subscriptionEventAt: lastAt && lastAt > eventAt ? lastAt : eventAt,
      updatedAt: new Date(),
    })
    .where(eq(billingAccounts.tenantId, tenantId))
    .returning();
  if (!after) throw new Error('billing account vanished');
  const fields = (row: typeof account) => ({
    planId: row.planId,
    status: row.status,
    stripeSubscriptionId: row.stripeSubscriptionId,
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    currentPeriodEnd: row.currentPeriodEnd?.toISOString() ?? null,
  });
  await inOrder(
    () => publishSubscription(db, after),
    () =>
      audit({
        action: 'billing.subscription_changed',
        targets: [target('subscription', subscription.id, after.planId)],
        changes: changesOf(fields(account), fields(after)),
      }),
  );
  return 'applied';
}

/** Stripe may add statuses; one Wrapper does not know yet counts as not paid for (`incomplete`). */
function knownStatus(status: string): SubscriptionStatus {
  return (subscriptionStatuses as readonly string[]).includes(status)
    ? (status as SubscriptionStatus)
    : 'incomplete';
}

/** A paid credit-pack Checkout adds the pack's credits once per session, whichever event brings it. */
async function purchaseCreditPack(
  db: ScopedDb,
  tenantId: string,
  session: Stripe.Checkout.Session,
  actor: LedgerActor,
  audit: (record: AuditRecord) => Promise<unknown>,
): Promise<WebhookOutcome> {
  const packId = session.metadata?.creditPackId;
  const [pack] = packId ? await db.select().from(creditPacks).where(eq(creditPacks.id, packId)) : [];
  if (!pack) return 'ignored';
  const added = await addCredits(db, {
    tenantId,
    source: 'purchase',
    amount: pack.credits,
    reason: `${pack.name} purchased`,
    expiresAt: null,
    metadata: {
      creditPackId: pack.id,
      checkoutSessionId: session.id,
      paymentIntentId: idOf(session.payment_intent),
      amountTotal: session.amount_total,
      currency: session.currency,
    },
    actor,
    externalId: session.id,
    creditPackId: pack.id,
  });
  if (!added) return 'already-applied';
  await audit({
    action: 'billing.pack_purchased',
    targets: [target('credit_pack', pack.id, pack.name), target('credit_transaction', added.transaction.id)],
    metadata: { credits: pack.credits, checkoutSessionId: session.id, balanceAfter: added.balance },
  });
  return 'purchased';
}

/**
 * A paid invoice of a new or renewed subscription brings the plan's allowance for its period (twelve
 * months of it for a yearly plan), expiring at the period's end, once per invoice.
 */
async function invoicePaid(
  db: ScopedDb,
  tenantId: string,
  invoice: Stripe.Invoice,
  actor: LedgerActor,
  audit: (record: AuditRecord) => Promise<unknown>,
): Promise<WebhookOutcome> {
  const line =
    invoice.lines.data.find((entry) => entry.pricing?.price_details?.price) ?? invoice.lines.data[0];
  const priceId = idOf(line?.pricing?.price_details?.price);
  const [plan] = priceId ? await db.select().from(plans).where(eq(plans.stripePriceId, priceId)) : [];
  const periodStart = fromUnix(line?.period?.start ?? invoice.period_start);
  const periodEnd = fromUnix(line?.period?.end ?? invoice.period_end);
  const bringsAllowance =
    invoice.billing_reason === 'subscription_create' || invoice.billing_reason === 'subscription_cycle';
  let creditsGranted = 0;
  if (plan && bringsAllowance && plan.monthlyCredits > 0 && invoice.id) {
    const amount = plan.monthlyCredits * (plan.interval === 'year' ? 12 : 1);
    const added = await addCredits(db, {
      tenantId,
      source: 'allowance',
      amount,
      reason: `${plan.name} plan allowance`,
      expiresAt: periodEnd,
      metadata: {
        planId: plan.id,
        invoiceId: invoice.id,
        periodStart: periodStart?.toISOString() ?? null,
        periodEnd: periodEnd?.toISOString() ?? null,
      },
      actor,
      externalId: invoice.id,
    });
    if (added) creditsGranted = amount;
  }
  await inOrder(
    () =>
      publish(db, 'billing.invoice.paid', {
        invoiceId: invoice.id ?? '',
        amountPaid: invoice.amount_paid,
        currency: invoice.currency,
        periodStart: periodStart?.toISOString() ?? null,
        periodEnd: periodEnd?.toISOString() ?? null,
        creditsGranted,
      }),
    () =>
      audit({
        action: 'billing.invoice_paid',
        targets: [target('invoice', invoice.id ?? ''), ...(plan ? [target('plan', plan.id, plan.name)] : [])],
        metadata: { amountPaid: invoice.amount_paid, currency: invoice.currency, creditsGranted },
      }),
  );
  return creditsGranted > 0 ? 'allowance-granted' : 'recorded';
}

/**
 * A refunded credit-pack payment takes back the refunded share of its credits, as far as they are still
 * unspent. `amount_refunded` is cumulative, so what earlier refunds took is counted first.
 */
async function chargeRefunded(
  db: ScopedDb,
  tenantId: string,
  charge: Stripe.Charge,
  actor: LedgerActor,
  audit: (record: AuditRecord) => Promise<unknown>,
): Promise<WebhookOutcome> {
  const paymentIntentId = idOf(charge.payment_intent);
  if (!paymentIntentId || charge.amount <= 0) return 'ignored';
  const [purchase] = await selectRows<{ lot_id: string; amount: string | number; refunded: string | number }>(
    db,
    sql`select e.lot_id, l.amount,
          coalesce((select -sum(r.amount) from credit_ledger r
                    where r.tenant_id = ${tenantId} and r.type = 'refund' and r.lot_id = e.lot_id), 0) as refunded
        from credit_ledger e join credit_lots l on l.id = e.lot_id
        where e.tenant_id = ${tenantId} and e.type = 'purchase' and e.metadata->>'paymentIntentId' = ${paymentIntentId}`,
  );
  if (!purchase) return 'ignored';
  const owed = Math.floor((Number(purchase.amount) * charge.amount_refunded) / charge.amount);
  const credits = owed - Number(purchase.refunded);
  if (credits <= 0) return 'nothing-to-refund';
  const refunded = await refundPurchase(db, {
    tenantId,
    lotId: purchase.lot_id,
    credits,
    reason: 'Purchase refunded',
    metadata: { chargeId: charge.id, paymentIntentId, amountRefunded: charge.amount_refunded },
    actor,
  });
  if (!refunded) return 'nothing-to-refund';
  await audit({
    action: 'billing.refunded',
    targets: [target('charge', charge.id), target('credit_transaction', refunded.transaction.id)],
    metadata: { credits: -refunded.transaction.amount, amountRefunded: charge.amount_refunded },
  });
  return 'refunded';
}

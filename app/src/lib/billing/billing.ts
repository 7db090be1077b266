import type { ApiError, Plan, Price, Subscription, SubscriptionStatus } from '../api';
import { formatNumber } from '../format';
import { isEventOf, type RealtimeEvent } from '../realtime/apply';
import type { BadgeTone } from '../ui/badge';

/** How many ledger entries the billing page loads at a time. */
export const LEDGER_PAGE_SIZE = 25;

/** A price in minor units (cents) as people read it, in their locale: `$29.00`. */
export function formatMoney(price: Price, locale?: string): string {
  const currency = price.currency.toUpperCase();
  try {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    // Currencies differ in minor units (JPY none, USD two, KWD three): the format knows how many.
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(price.amount / 10 ** digits);
  } catch {
    // An unknown currency code: still show the amount rather than nothing.
    return `${(price.amount / 100).toFixed(2)} ${currency}`;
  }
}

/** `$29.00 / month`, or `null` for a plan that is not sold through Checkout. */
export function planPriceLabel(plan: Plan, locale?: string): string | null {
  if (!plan.price) return null;
  return `${formatMoney(plan.price, locale)} / ${plan.price.interval}`;
}

/** A plan's limits (`{members: 25, apiKeys: 20}`) as short phrases: `25 members`, `20 API keys`. */
export function planLimits(plan: Plan): string[] {
  return Object.entries(plan.limits).map(([key, value]) => `${formatNumber(value)} ${limitNoun(key, value)}`);
}

const limitNouns: Record<string, [string, string]> = {
  members: ['member', 'members'],
  apiKeys: ['API key', 'API keys'],
  organizations: ['organization', 'organizations'],
  webhooks: ['webhook', 'webhooks'],
};

function limitNoun(key: string, value: number): string {
  const known = limitNouns[key];
  if (known) return value === 1 ? known[0] : known[1];
  // `maxSeats` → `max seats`: an unknown key still reads as words.
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

interface StatusLook {
  label: string;
  tone: BadgeTone;
}

const statuses: Record<SubscriptionStatus, StatusLook> = {
  none: { label: 'No subscription', tone: 'neutral' },
  active: { label: 'Active', tone: 'success' },
  trialing: { label: 'Trial', tone: 'brand' },
  past_due: { label: 'Past due', tone: 'warning' },
  canceled: { label: 'Cancelled', tone: 'neutral' },
  unpaid: { label: 'Unpaid', tone: 'danger' },
  incomplete: { label: 'Awaiting payment', tone: 'warning' },
  incomplete_expired: { label: 'Payment not completed', tone: 'neutral' },
  paused: { label: 'Paused', tone: 'neutral' },
};

export function subscriptionStatusLook(status: SubscriptionStatus): StatusLook {
  return statuses[status] ?? { label: status, tone: 'neutral' };
}

/** A collection Stripe could not make, as `billing.payment_failed` reports it. */
export interface PaymentFailure {
  invoiceId: string;
  amountDue: Price;
  attemptCount: number;
  nextPaymentAttemptAt: string | null;
  hostedInvoiceUrl: string | null;
}

export interface BillingState {
  subscription: Subscription | null;
  /** The last failed payment since the page loaded, until an invoice is paid. */
  paymentFailure: PaymentFailure | null;
}

/**
 * Billing events since the page loaded: the subscription as last published replaces the loaded one, and a
 * failed payment stands until an invoice is paid.
 */
export function applyBillingEvents(state: BillingState, events: readonly RealtimeEvent[]): BillingState {
  let { subscription, paymentFailure } = state;
  for (const event of events) {
    if (isEventOf(event, 'billing.subscription.updated')) {
      subscription = event.data.subscription as Subscription;
    } else if (isEventOf(event, 'billing.payment_failed')) {
      const { invoiceId, amountDue, currency, attemptCount, nextPaymentAttemptAt, hostedInvoiceUrl } =
        event.data;
      paymentFailure = {
        invoiceId,
        amountDue: { amount: amountDue, currency },
        attemptCount,
        nextPaymentAttemptAt,
        hostedInvoiceUrl,
      };
    } else if (isEventOf(event, 'billing.invoice.paid')) {
      paymentFailure = null;
    }
  }
  return subscription === state.subscription && paymentFailure === state.paymentFailure
    ? state
    : { subscription, paymentFailure };
}

/** Whether the subscription is behind on payment: Stripe is retrying, or gave up. */
export function isPaymentOverdue(subscription: Subscription | null): boolean {
  return subscription?.status === 'past_due' || subscription?.status === 'unpaid';
}

/** Whether Checkout or the Portal was refused because the platform has no Stripe account configured. */
export function isBillingNotConfigured(problem: ApiError | null | undefined): boolean {
  return problem?.type.endsWith('billing-not-configured') ?? false;
}

/** How a person came back from Stripe Checkout (`?checkout=success|cancelled`), if they did. */
export function checkoutReturn(url: URL): 'success' | 'cancelled' | null {
  const value = url.searchParams.get('checkout');
  return value === 'success' || value === 'cancelled' ? value : null;
}

/**
 * Whether a Stripe subscription is still billing the tenant: a plan is then changed or cancelled in the
 * Customer Portal, and the server refuses a second Checkout for a plan.
 */
export function hasLiveStripeSubscription(subscription: Subscription | null): boolean {
  return (
    subscription?.source === 'stripe' &&
    ['active', 'trialing', 'past_due', 'unpaid', 'incomplete', 'paused'].includes(subscription.status)
  );
}

/** Whether `subscription` is on `plan` now (a cancelled or lapsed one no longer counts). */
export function isCurrentPlan(subscription: Subscription | null, plan: Plan): boolean {
  return (
    subscription !== null &&
    subscription.planId === plan.id &&
    subscription.status !== 'canceled' &&
    subscription.status !== 'incomplete_expired'
  );
}

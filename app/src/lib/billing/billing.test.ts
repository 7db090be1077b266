import { describe, expect, test } from 'bun:test';
import { ApiError, type Plan, type Subscription } from '../api';
import { testEvents } from '../realtime/test-events';
import {
  applyBillingEvents,
  type BillingState,
  checkoutReturn,
  formatMoney,
  hasLiveStripeSubscription,
  isBillingNotConfigured,
  isCurrentPlan,
  isPaymentOverdue,
  planLimits,
  planPriceLabel,
} from './billing';

const event = testEvents({ channelOf: () => 'billing', actor: { type: 'system' } });

const pro: Plan = {
  id: 'pro',
  name: 'Pro',
  description: 'For teams',
  monthlyCredits: 10_000,
  price: { amount: 2900, currency: 'usd', interval: 'month' },
  limits: { members: 25, apiKeys: 1, maxSeats: 3 },
};

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    planId: 'pro',
    plan: pro,
    status: 'active',
    source: 'stripe',
    currentPeriodStart: '2025-06-01T00:00:00.000Z',
    currentPeriodEnd: '2025-07-01T00:00:00.000Z',
    cancelAtPeriodEnd: false,
    customer: true,
    ...overrides,
  };
}

const failed = {
  invoiceId: 'in_1',
  amountDue: 2900,
  currency: 'usd',
  attemptCount: 1,
  nextPaymentAttemptAt: '2025-06-18T00:00:00.000Z',
  hostedInvoiceUrl: 'https://invoice.stripe.test/in_1',
};

describe('money', () => {
  test('minor units in the currency’s own precision', () => {
    expect(formatMoney({ amount: 2900, currency: 'usd' }, 'en-US')).toBe('$29.00');
    expect(formatMoney({ amount: 500, currency: 'jpy' }, 'en-US')).toBe('¥500');
    expect(planPriceLabel(pro, 'en-US')).toBe('$29.00 / month');
    expect(planPriceLabel({ ...pro, price: null })).toBeNull();
  });
});

describe('planLimits', () => {
  test('reads known and unknown limits as phrases', () => {
    expect(planLimits(pro)).toEqual(['25 members', '1 API key', '3 max seats']);
  });
});

describe('applyBillingEvents', () => {
  const loaded: BillingState = { subscription: subscription(), paymentFailure: null };

  test('no events: the loaded state itself', () => {
    expect(applyBillingEvents(loaded, [])).toBe(loaded);
  });

  test('the last published subscription replaces the loaded one', () => {
    const pastDue = subscription({ status: 'past_due' });
    const state = applyBillingEvents(loaded, [
      event('billing.subscription.updated', { subscription: pastDue }),
    ]);
    expect(state.subscription).toEqual(pastDue);
    expect(isPaymentOverdue(state.subscription)).toBe(true);
  });

  test('a failed payment stands until an invoice is paid', () => {
    const afterFailure = applyBillingEvents(loaded, [event('billing.payment_failed', failed)]);
    expect(afterFailure.paymentFailure).toEqual({
      invoiceId: 'in_1',
      amountDue: { amount: 2900, currency: 'usd' },
      attemptCount: 1,
      nextPaymentAttemptAt: '2025-06-18T00:00:00.000Z',
      hostedInvoiceUrl: 'https://invoice.stripe.test/in_1',
    });
    const paid = applyBillingEvents(loaded, [
      event('billing.payment_failed', failed),
      event('billing.invoice.paid', {
        invoiceId: 'in_1',
        amountPaid: 2900,
        currency: 'usd',
        periodStart: null,
        periodEnd: null,
        creditsGranted: 0,
      }),
    ]);
    expect(paid.paymentFailure).toBeNull();
  });
});

describe('isCurrentPlan', () => {
  test('a live or manual subscription to the plan, not a cancelled one', () => {
    expect(isCurrentPlan(subscription(), pro)).toBe(true);
    expect(isCurrentPlan(subscription({ status: 'canceled' }), pro)).toBe(false);
    expect(isCurrentPlan(subscription({ planId: 'business' }), pro)).toBe(false);
    expect(isCurrentPlan(null, pro)).toBe(false);
  });
});

describe('hasLiveStripeSubscription', () => {
  test('a Stripe subscription still billing, not a manual plan or a cancelled one', () => {
    expect(hasLiveStripeSubscription(subscription())).toBe(true);
    expect(hasLiveStripeSubscription(subscription({ status: 'past_due' }))).toBe(true);
    expect(hasLiveStripeSubscription(subscription({ status: 'canceled' }))).toBe(false);
    expect(hasLiveStripeSubscription(subscription({ source: 'manual' }))).toBe(false);
    expect(hasLiveStripeSubscription(null)).toBe(false);
  });
});

describe('isBillingNotConfigured', () => {
  test('recognises the problem by its type', () => {
    const refusal = new ApiError({
      status: 503,
      type: '/problems/billing-not-configured',
      title: 'No billing',
    });
    expect(isBillingNotConfigured(refusal)).toBe(true);
    expect(isBillingNotConfigured(new ApiError({ status: 503, title: 'Unavailable' }))).toBe(false);
    expect(isBillingNotConfigured(null)).toBe(false);
  });
});

describe('checkoutReturn', () => {
  test('reads how the person came back from Checkout', () => {
    expect(checkoutReturn(new URL('https://app.test/billing?checkout=success'))).toBe('success');
    expect(checkoutReturn(new URL('https://app.test/billing?checkout=cancelled'))).toBe('cancelled');
    expect(checkoutReturn(new URL('https://app.test/billing?checkout=other'))).toBeNull();
    expect(checkoutReturn(new URL('https://app.test/billing'))).toBeNull();
  });
});

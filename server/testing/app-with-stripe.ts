import Stripe from 'stripe';
import type { BillingCatalog } from '../features/billing/catalog.ts';
import { startTestApp, type TestApp, type TestAppOptions } from './harness.ts';
import { type LocalStripe, startStripeServer } from './stripe-server.ts';

/** One plan with a Stripe price, and no packs. */
export const proPlanCatalog: BillingCatalog = {
  plans: [
    {
      id: 'pro',
      name: 'Pro',
      monthlyCredits: 1_000,
      stripePriceId: 'price_pro_monthly',
      price: { amount: 2900, currency: 'usd', interval: 'month' },
    },
  ],
  creditPacks: [],
};

/**
 * The test app with the local Stripe server as its Stripe, both ways: the app's calls go to it, and its
 * webhooks are delivered to the app's handler.
 */
export async function startTestAppWithStripe(
  options: TestAppOptions = {},
): Promise<{ app: TestApp; stripe: LocalStripe }> {
  const stripe = await startStripeServer();
  stripe.addPrice({ id: 'price_pro_monthly', unitAmount: 2900, interval: 'month', name: 'Pro' });
  const app = await startTestApp({
    billingCatalog: proPlanCatalog,
    ...options,
    billing: {
      stripe: new Stripe(stripe.secretKey, { ...stripe.sdkOptions, maxNetworkRetries: 0 }),
      webhookSecret: stripe.webhookSecret,
      webhookToleranceSeconds: 300,
    },
  });
  stripe.webhookUrl = 'http://localhost/v1/billing/stripe/webhook';
  stripe.handle = (request) => app.handle(request);
  return { app, stripe };
}

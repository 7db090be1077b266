import Stripe from 'stripe';
import { AppError } from '../../errors.ts';

/** What billing needs from the outside: Stripe (absent when not configured) and where the app is. */
export interface BillingDeps {
  stripe: Stripe | null;
  webhookSecret: string | null;
  /** Seconds a webhook signature stays acceptable (replay protection). */
  webhookToleranceSeconds: number;
  /** Public URL of the app: Checkout and the Portal send people back to its billing page. */
  appUrl: string;
}

/**
 * A Stripe client for the secret key, talking to `apiUrl` when given (a Stripe-compatible server, e.g.
 * for tests); null without a key. The SDK's own retries use idempotency keys, so a retried create is safe.
 */
export function createStripeClient(options: { secretKey?: string; apiUrl?: string }): Stripe | null {
  if (!options.secretKey) return null;
  const target = options.apiUrl ? new URL(options.apiUrl) : null;
  return new Stripe(options.secretKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'Wrapper' },
    ...(target
      ? {
          host: target.hostname,
          port: target.port || (target.protocol === 'https:' ? 443 : 80),
          protocol: target.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

export function requireStripe(deps: BillingDeps): Stripe {
  if (!deps.stripe) {
    throw new AppError(
      'billing-not-configured',
      'Payments are not set up here (no STRIPE_SECRET_KEY); a platform admin can still set the plan and credits.',
    );
  }
  return deps.stripe;
}

/**
 * Runs a call to Stripe; when Stripe cannot be reached or answers with an error of its own, the caller
 * gets a 502 problem saying so (never Stripe's internals), and the request changes nothing here.
 */
export async function callStripe<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) {
      throw new AppError('billing-provider-unavailable', `Stripe refused to ${what} (${error.type}).`, {
        stripeRequestId: error.requestId ?? null,
      });
    }
    throw error;
  }
}

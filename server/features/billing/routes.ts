import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { rawBodyOf } from '../../plugins/body-limit.ts';
import { problemsFor } from '../shared-model.ts';
import { CheckoutBody, PlansResponse, RedirectModel, SubscriptionModel } from './model.ts';
import { listCatalog, openPortal, readSubscription, startCheckout } from './service.ts';
import type { BillingDeps } from './stripe.ts';
import { receiveStripeWebhook } from './webhook.ts';

const tags = ['billing'];
const prefix = '/v1/billing';
/** Stripe signs the exact bytes it sends: the body limit hands this route its body as text, unparsed. */
export const stripeWebhookRoute = `${prefix}/stripe/webhook`;
export function billingRoutes(deps: AuthDeps & { database: Database; billing: BillingDeps; logger: Logger }) {
  const { database, billing, logger } = deps;
  return new Elysia({ name: 'billing-routes', prefix })
    .use(authentication(deps))
    .get(
      '/plans',
      async ({ actor }) => ({
        ...(await withTenant(database, actor, (db) => listCatalog(db))),
        checkoutAvailable: billing.stripe !== null,
      }),
      {
        auth: 'credits:read',
        response: {
          200: PlansResponse,
          ...problemsFor(401, 403),
        },
        detail: { tags, summary: 'The plans (with their monthly credits) and credit packs on offer' },
      },
    )
    .get(
      '/subscription',
      ({ actor }) => withTenant(database, actor, (db) => readSubscription(db, actor.tenantId)),
      {
        auth: 'credits:read',
        response: { 200: SubscriptionModel, ...problemsFor(401, 403) },
        detail: { tags, summary: "The tenant's plan and subscription" },
      },
    )
    .post(
      '/checkout',
      ({ actor, body }) => {
        const { planId, creditPackId } = body;
        if ((planId === undefined) === (creditPackId === undefined)) {
          throw new AppError('validation-failed', 'Send either planId or creditPackId.', {
            errors: [{ path: '/', message: 'Exactly one of planId and creditPackId' }],
          });
        }
        return startCheckout(database, billing, actor, { planId, creditPackId });
      },
      {
        auth: 'billing:manage',
        body: CheckoutBody,
        response: {
          200: RedirectModel,
          ...problemsFor(401, 403, 404, 409, 422, 502, 503),
        },
        detail: {
          tags,
          summary: 'Stripe Checkout for a plan (subscription) or a credit pack (one payment)',
          description:
            'What is bought is applied by the Stripe webhook once paid, not by the return to the app. 409 `subscription-exists` when a subscription is live (use the portal), 503 `billing-not-configured` without Stripe.',
        },
      },
    )
    .post('/portal', ({ actor }) => openPortal(database, billing, actor), {
      auth: 'billing:manage',
      response: {
        200: RedirectModel,
        ...problemsFor(401, 403, 502, 503),
      },
      detail: { tags, summary: 'The Stripe Customer Portal (plan, payment method, invoices, cancel)' },
    })
    .post(
      stripeWebhookRoute.slice(prefix.length),
      ({ body, headers, request }) =>
        receiveStripeWebhook(database, billing, logger, {
          body: rawBodyOf(request) ?? (typeof body === 'string' ? body : ''),
          signature: headers['stripe-signature'],
        }),
      {
        // The signature covers the exact bytes: the body is taken as text, never parsed and re-encoded
        // (the body limit reads it, keeps its text and leaves it unparsed: `stripeWebhookRoute`).
        parse: 'text',
        headers: t.Object({ 'stripe-signature': t.String({ maxLength: 4096 }) }),
        // Before validation: a missing signature is the webhook's own 400, as a wrong one is.
        transform: ({ headers }) => {
          if (!headers['stripe-signature']) {
            throw new AppError('webhook-signature-invalid', 'No Stripe-Signature header.');
          }
        },
        response: {
          200: t.Object({ received: t.Literal(true), outcome: t.String() }),
          ...problemsFor(400, 413, 503),
        },
        detail: {
          tags,
          summary: 'Stripe events (signature-verified; each event id applied once)',
          requestBody: {
            required: true,
            description: 'A Stripe event, exactly as Stripe sent and signed it',
            content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
          },
          description:
            'Handles checkout.session.completed / async_payment_succeeded, customer.subscription.*, invoice.paid, invoice.payment_failed and charge.refunded; other types are acknowledged and ignored.',
        },
      },
    );
}

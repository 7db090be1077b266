import { t } from 'elysia';
import { subscriptionStatuses } from '../../../db/schema/index.ts';
import { Timestamp } from '../shared-model.ts';

const CatalogId = t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', maxLength: 40 });

export const PlanModel = t.Object({
  id: t.String(),
  name: t.String(),
  description: t.String(),
  monthlyCredits: t.Integer({ description: 'Credits granted each month of a paid period' }),
  price: t.Union([
    t.Object({
      amount: t.Integer({ description: 'In the currency’s minor unit (cents)' }),
      currency: t.String(),
      interval: t.Union([t.Literal('month'), t.Literal('year')]),
    }),
    t.Null(),
  ]),
  limits: t.Record(t.String(), t.Number()),
});
export type PlanModel = typeof PlanModel.static;

export const CreditPackModel = t.Object({
  id: t.String(),
  name: t.String(),
  credits: t.Integer(),
  price: t.Union([t.Object({ amount: t.Integer(), currency: t.String() }), t.Null()]),
});
export type CreditPackModel = typeof CreditPackModel.static;

export const PlansResponse = t.Object({
  items: t.Array(PlanModel),
  creditPacks: t.Array(CreditPackModel),
  checkoutAvailable: t.Boolean({ description: 'False when Stripe is not configured here' }),
});
export type PlansResponse = typeof PlansResponse.static;

export const SubscriptionModel = t.Object({
  planId: t.Union([t.String(), t.Null()]),
  plan: t.Union([PlanModel, t.Null()]),
  status: t.UnionEnum(subscriptionStatuses),
  source: t.Union([t.Literal('stripe'), t.Literal('manual'), t.Null()]),
  currentPeriodStart: t.Union([Timestamp, t.Null()]),
  currentPeriodEnd: t.Union([Timestamp, t.Null()]),
  cancelAtPeriodEnd: t.Boolean(),
  customer: t.Boolean({ description: 'Whether the tenant has a Stripe customer' }),
});
export type SubscriptionModel = typeof SubscriptionModel.static;

export const CheckoutBody = t.Object(
  { planId: t.Optional(CatalogId), creditPackId: t.Optional(CatalogId) },
  { additionalProperties: false },
);
export type CheckoutBody = typeof CheckoutBody.static;

export const RedirectModel = t.Object({ url: t.String({ description: 'Send the browser here' }) });
export type RedirectModel = typeof RedirectModel.static;

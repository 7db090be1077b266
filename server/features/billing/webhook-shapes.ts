import { type TSchema, Type as t } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../../errors.ts';

/**
 * The parts of each handled Stripe event's object that the webhook reads, as Stripe sends them. A signed
 * event is Stripe's word, but a shape no handler expects (a test tool, an API version change) must be
 * refused as a 400 that Stripe shows on the endpoint, not fail half-way as a 500. Everything else in the
 * object is left alone (Stripe adds fields freely).
 */
const Id = t.Union([t.String(), t.Object({ id: t.String() })]);
const Optional = <Schema extends TSchema>(schema: Schema) => t.Optional(t.Union([schema, t.Null()]));
const Whole = t.Integer({ minimum: 0 });
const Common = {
  customer: Optional(Id),
  metadata: Optional(t.Record(t.String(), t.String())),
};

const Subscription = t.Object({
  ...Common,
  id: t.String(),
  status: t.String(),
  cancel_at_period_end: t.Optional(t.Boolean()),
  items: t.Object({
    data: t.Array(
      t.Object({
        price: Optional(Id),
        current_period_start: Optional(Whole),
        current_period_end: Optional(Whole),
      }),
    ),
  }),
});

const CheckoutSession = t.Object({
  ...Common,
  id: t.String(),
  mode: t.String(),
  payment_status: t.Optional(t.String()),
  subscription: Optional(Id),
  payment_intent: Optional(Id),
  amount_total: Optional(Whole),
  currency: Optional(t.String()),
});

const Invoice = t.Object({
  ...Common,
  id: Optional(t.String()),
  amount_paid: Whole,
  amount_due: Whole,
  currency: t.String(),
  attempt_count: Whole,
  next_payment_attempt: Optional(Whole),
  hosted_invoice_url: Optional(t.String()),
  billing_reason: Optional(t.String()),
  period_start: Optional(Whole),
  period_end: Optional(Whole),
  lines: t.Object({
    data: t.Array(
      t.Object({
        pricing: Optional(t.Object({ price_details: Optional(t.Object({ price: Optional(Id) })) })),
        period: Optional(t.Object({ start: Optional(Whole), end: Optional(Whole) })),
      }),
    ),
  }),
});

const Charge = t.Object({
  ...Common,
  id: t.String(),
  amount: Whole,
  amount_refunded: Whole,
  payment_intent: Optional(Id),
});

const shapes: Record<string, TSchema> = {
  'customer.subscription.created': Subscription,
  'customer.subscription.updated': Subscription,
  'customer.subscription.deleted': Subscription,
  'customer.subscription.paused': Subscription,
  'customer.subscription.resumed': Subscription,
  'checkout.session.completed': CheckoutSession,
  'checkout.session.async_payment_succeeded': CheckoutSession,
  'invoice.paid': Invoice,
  'invoice.payment_failed': Invoice,
  'charge.refunded': Charge,
};

/** The event types the webhook applies; each has its shape here. */
export const handledStripeEvents: ReadonlySet<string> = new Set(Object.keys(shapes));

/** Refuses (400) a handled event whose object lacks what its handler reads. */
export function requireHandledShape(event: { id: string; type: string; data?: { object?: unknown } }): void {
  const shape = shapes[event.type];
  if (!shape) return;
  const object = event.data?.object;
  if (Value.Check(shape, object)) return;
  const first = Value.Errors(shape, object).First();
  throw new AppError(
    'webhook-payload-invalid',
    `Stripe event ${event.id} (${event.type}) is not shaped as expected${first ? ` at ${first.path || '/'}: ${first.message}` : ''}.`,
  );
}

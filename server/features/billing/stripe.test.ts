import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { selectRows } from '../../../db/client.ts';
import { events } from '../../../db/schema/index.ts';
import { type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { type LocalStripe, startStripeServer } from '../../testing/stripe-server.ts';
import type { BillingCatalog } from './catalog.ts';

// Billing against a local server that speaks Stripe's API (the real SDK talks to it) and signs its
// webhooks like Stripe does.

let stripe: LocalStripe;
let app: TestApp;

const catalog: BillingCatalog = {
  plans: [
    { id: 'free', name: 'Free', monthlyCredits: 100, price: null },
    {
      id: 'pro',
      name: 'Pro',
      monthlyCredits: 1_000,
      stripePriceId: 'price_pro_monthly',
      price: { amount: 2900, currency: 'usd', interval: 'month' },
    },
    {
      id: 'business',
      name: 'Business',
      monthlyCredits: 5_000,
      stripePriceId: 'price_business_monthly',
      price: { amount: 9900, currency: 'usd', interval: 'month' },
    },
    // Sold in the catalog, but the Stripe account has no such price: Stripe refuses the Checkout.
    { id: 'ghost', name: 'Ghost', monthlyCredits: 1, stripePriceId: 'price_missing_at_stripe' },
  ],
  creditPacks: [
    { id: 'pack-500', name: '500 credits', credits: 500, stripePriceId: 'price_pack_500' },
    { id: 'pack-free', name: 'Unpriced', credits: 10 },
  ],
};

beforeAll(async () => {
  stripe = await startStripeServer();
  stripe.addPrice({ id: 'price_pro_monthly', unitAmount: 2900, interval: 'month', name: 'Pro' });
  stripe.addPrice({ id: 'price_business_monthly', unitAmount: 9900, interval: 'month', name: 'Business' });
  stripe.addPrice({ id: 'price_pack_500', unitAmount: 500, interval: null, name: '500 credits' });
  app = await startTestApp({
    billingCatalog: catalog,
    billing: {
      stripe: new Stripe(stripe.secretKey, { ...stripe.sdkOptions, maxNetworkRetries: 0 }),
      webhookSecret: stripe.webhookSecret,
      webhookToleranceSeconds: 300,
    },
  });
  stripe.webhookUrl = 'http://localhost/v1/billing/stripe/webhook';
  stripe.handle = (request) => app.handle(request);
});
afterAll(async () => {
  await app.dispose();
  await stripe.close();
});

const api = (tenant: SignedUp, method: string, path: string, body?: unknown) =>
  app.request(method, path, { token: tenant.token, body });

/** Delivers events like Stripe and answers what the webhook said about each. */
async function deliverAll(list: Stripe.Event[]): Promise<string[]> {
  const outcomes: string[] = [];
  for (const event of list) {
    const response = await stripe.deliver(event);
    expect(response.status).toBe(200);
    outcomes.push(((await response.json()) as { outcome: string }).outcome);
  }
  return outcomes;
}

const sessionIdOf = (url: string) => url.split('/').at(-1) ?? '';

async function ledger(tenantId: string) {
  const rows = await selectRows<{
    type: string;
    amount: string | number;
    external_id: string | null;
    source: string | null;
  }>(
    app.database.owner,
    sql`select e.type, e.amount, l.external_id, l.source from credit_ledger e
        left join credit_lots l on l.id = e.lot_id
        where e.tenant_id = ${tenantId} order by e.id`,
  );
  return rows.map((row) => ({ ...row, amount: Number(row.amount) }));
}

const typesOf = async (tenantId: string) =>
  (
    await app.database.owner
      .select({ type: events.type })
      .from(events)
      .where(eq(events.tenantId, tenantId))
      .orderBy(events.seq)
  ).map((row) => row.type);

/** A tenant subscribed to Pro through Checkout, its events delivered. */
async function subscribedTenant(): Promise<{ tenant: SignedUp; subscriptionId: string }> {
  const tenant = await app.signUp();
  const checkout = await api(tenant, 'POST', '/v1/billing/checkout', { planId: 'pro' });
  expect(checkout.status).toBe(200);
  await deliverAll(await stripe.completeCheckout(sessionIdOf(checkout.body.url)));
  const session = stripe.checkoutSessions.get(sessionIdOf(checkout.body.url));
  const subscriptionId = typeof session?.subscription === 'string' ? session.subscription : '';
  expect(subscriptionId).toStartWith('sub_');
  return { tenant, subscriptionId };
}

describe('billing with Stripe', () => {
  test('Checkout for a plan: one Stripe customer per tenant, what is bought in the metadata', async () => {
    const tenant = await app.signUp({ organizationName: 'Acme Billing' });
    const plans = await api(tenant, 'GET', '/v1/billing/plans');
    expect(plans.body.checkoutAvailable).toBe(true);

    // Several first Checkouts at once still make one customer.
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => api(tenant, 'POST', '/v1/billing/checkout', { planId: 'pro' })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.url).toStartWith(stripe.url);
    }
    const customers = [...stripe.customers.values()].filter(
      (customer) => customer.metadata.tenantId === tenant.tenantId,
    );
    expect(customers).toHaveLength(1);
    expect(customers[0]?.name).toBe('Acme Billing');
    expect(customers[0]?.email).toBe(tenant.email);

    const session = stripe.checkoutSessions.get(sessionIdOf(answers[0]?.body.url));
    expect(session).toMatchObject({
      mode: 'subscription',
      customer: customers[0]?.id,
      client_reference_id: tenant.tenantId,
      metadata: { tenantId: tenant.tenantId, planId: 'pro' },
      success_url: 'http://app.wrapper.test/billing?checkout=success',
      cancel_url: 'http://app.wrapper.test/billing?checkout=cancelled',
    });
    const subscription = await api(tenant, 'GET', '/v1/billing/subscription');
    expect(subscription.body).toMatchObject({ status: 'none', customer: true });

    const portal = await api(tenant, 'POST', '/v1/billing/portal');
    expect(portal.status).toBe(200);
    const portalSession = stripe.portalSessions.get(sessionIdOf(portal.body.url));
    expect(portalSession).toMatchObject({
      customer: customers[0]?.id,
      return_url: 'http://app.wrapper.test/billing',
    });
  });

  test('a paid subscription Checkout: the plan, its allowance once, events; duplicates change nothing', async () => {
    const tenant = await app.signUp();
    const checkout = await api(tenant, 'POST', '/v1/billing/checkout', { planId: 'pro' });
    const delivered = await stripe.completeCheckout(sessionIdOf(checkout.body.url));
    expect(delivered.map((event) => event.type)).toEqual([
      'customer.subscription.created',
      'invoice.paid',
      'checkout.session.completed',
    ]);
    const outcomes = await deliverAll(delivered);
    expect(outcomes).toEqual(['applied', 'allowance-granted', 'applied']);

    const subscription = await api(tenant, 'GET', '/v1/billing/subscription');
    expect(subscription.body).toMatchObject({
      planId: 'pro',
      status: 'active',
      source: 'stripe',
      cancelAtPeriodEnd: false,
      customer: true,
    });
    expect(Date.parse(subscription.body.currentPeriodEnd)).toBeGreaterThan(Date.now());
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(1_000);

    // Stripe delivers again, also several at once: each event id counts once.
    expect(await deliverAll(delivered)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    const invoicePaid = delivered[1] as Stripe.Event;
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => stripe.deliver(invoicePaid)));
    for (const response of concurrent) expect(response.status).toBe(200);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(1_000);
    const entries = await ledger(tenant.tenantId);
    expect(entries).toEqual([
      { type: 'grant', amount: 1000, external_id: expect.stringMatching(/^in_/), source: 'allowance' },
    ]);
    const types = await typesOf(tenant.tenantId);
    expect(types.filter((type) => type === 'billing.subscription.updated').length).toBeGreaterThanOrEqual(1);
    expect(types.filter((type) => type === 'billing.invoice.paid')).toHaveLength(1);
    expect(types.filter((type) => type === 'credits.granted')).toHaveLength(1);

    // A live subscription is changed in the portal, not bought twice.
    const again = await api(tenant, 'POST', '/v1/billing/checkout', { planId: 'business' });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('/problems/subscription-exists');
    // And a platform admin cannot overwrite what Stripe bills for (tested in admin-billing too).
  });

  test('renewals bring each period’s allowance; a failed payment is published and the plan goes past due', async () => {
    const { tenant, subscriptionId } = await subscribedTenant();
    expect(await deliverAll(await stripe.renewSubscription(subscriptionId))).toEqual([
      'allowance-granted',
      'applied',
    ]);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(2_000);

    const failed = await stripe.failPayment(subscriptionId);
    expect(failed.map((event) => event.type)).toEqual([
      'invoice.payment_failed',
      'customer.subscription.updated',
    ]);
    expect(await deliverAll(failed)).toEqual(['recorded', 'applied']);
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body.status).toBe('past_due');
    const types = await typesOf(tenant.tenantId);
    expect(types).toContain('billing.payment_failed');
    const [payload] = await selectRows<{ data: { amountDue: number; attemptCount: number } }>(
      app.database.owner,
      sql`select data from events where tenant_id = ${tenant.tenantId} and type = 'billing.payment_failed'`,
    );
    expect(payload?.data.amountDue).toBe(2900);
    expect(payload?.data.attemptCount).toBeGreaterThanOrEqual(1);
    // No allowance for an unpaid period.
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(2_000);

    // Paid on retry: the period's allowance arrives then.
    await deliverAll(await stripe.renewSubscription(subscriptionId));
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body.status).toBe('active');
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(3_000);
  });

  test('subscription events out of order: an older snapshot never overwrites a newer one', async () => {
    const { tenant, subscriptionId } = await subscribedTenant();
    const current = stripe.subscriptions.get(subscriptionId) as Stripe.Subscription;
    const now = Math.floor(Date.now() / 1000);
    const upgraded = stripe.event(
      'customer.subscription.updated',
      {
        ...current,
        cancel_at_period_end: true,
        items: {
          ...current.items,
          data: current.items.data.map((item) => ({
            ...item,
            price: { ...item.price, id: 'price_business_monthly' },
          })),
        },
      },
      { created: now + 20 },
    );
    const older = stripe.event('customer.subscription.updated', { ...current }, { created: now + 10 });
    // Stripe sends the newer first; the older one arrives late.
    expect(await deliverAll([upgraded, older])).toEqual(['applied', 'stale']);
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body).toMatchObject({
      planId: 'business',
      cancelAtPeriodEnd: true,
    });

    // Cancelled, then a new subscription; the old one's late "deleted" does not end the new one.
    const ended = stripe.event(
      'customer.subscription.deleted',
      { ...current, status: 'canceled' },
      { created: now + 30 },
    );
    expect(await deliverAll([ended])).toEqual(['applied']);
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body).toMatchObject({
      planId: null,
      status: 'canceled',
    });
    const resubscribe = await api(tenant, 'POST', '/v1/billing/checkout', { planId: 'pro' });
    expect(resubscribe.status).toBe(200);
    await deliverAll(await stripe.completeCheckout(sessionIdOf(resubscribe.body.url)));
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body).toMatchObject({
      planId: 'pro',
      status: 'active',
    });
    const lateDelete = stripe.event(
      'customer.subscription.deleted',
      { ...current, status: 'canceled' },
      { created: now + 31 },
    );
    expect(await deliverAll([lateDelete])).toEqual(['other-subscription']);
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body.status).toBe('active');
  });

  test('a credit pack: purchased once per payment; a refund takes back what is left of it', async () => {
    const tenant = await app.signUp();
    const checkout = await api(tenant, 'POST', '/v1/billing/checkout', { creditPackId: 'pack-500' });
    expect(checkout.status).toBe(200);
    const sessionId = sessionIdOf(checkout.body.url);
    expect(stripe.checkoutSessions.get(sessionId)).toMatchObject({
      mode: 'payment',
      metadata: { tenantId: tenant.tenantId, creditPackId: 'pack-500' },
    });
    const completed = await stripe.completeCheckout(sessionId);
    expect(await deliverAll(completed)).toEqual(['purchased']);
    // The same payment reported by another event (async payment succeeded) adds nothing.
    const session = stripe.checkoutSessions.get(sessionId) as Stripe.Checkout.Session;
    const asyncSucceeded = stripe.event('checkout.session.async_payment_succeeded', session);
    expect(await deliverAll([asyncSucceeded])).toEqual(['already-applied']);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(500);
    expect(await typesOf(tenant.tenantId)).toContain('credits.purchased');

    const spent = await app.request('POST', '/v1/credits/consume', {
      token: tenant.token,
      body: { amount: 200, reason: 'Work' },
      headers: { 'idempotency-key': crypto.randomUUID() },
    });
    expect(spent.body.balance).toBe(300);
    // A half refund owes 250 credits back, but only 300 are left: 250 are taken. A full refund later
    // owes 250 more, and only what is left (50) can be taken.
    const paymentIntent = session.payment_intent;
    expect(typeof paymentIntent).toBe('string');
    const charge = (refunded: number) =>
      stripe.event('charge.refunded', {
        id: 'ch_local_1',
        object: 'charge',
        amount: 500,
        amount_refunded: refunded,
        customer: session.customer,
        payment_intent: paymentIntent,
      });
    expect(await deliverAll([charge(250)])).toEqual(['refunded']);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(50);
    expect(await deliverAll([charge(500)])).toEqual(['refunded']);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(0);
    const entries = await ledger(tenant.tenantId);
    expect(entries.map((entry) => [entry.type, Number(entry.amount)])).toEqual([
      ['purchase', 500],
      ['consume', -200],
      ['refund', -250],
      ['refund', -50],
    ]);
  });

  test('bad signatures, stale timestamps and missing headers are refused; nothing is applied', async () => {
    const tenant = await app.signUp();
    const checkout = await api(tenant, 'POST', '/v1/billing/checkout', { creditPackId: 'pack-500' });
    const [completed] = await stripe.completeCheckout(sessionIdOf(checkout.body.url));
    if (!completed) throw new Error('no event');
    const refusals = [
      await stripe.deliver(completed, { secret: 'whsec_someone_else' }),
      await stripe.deliver(completed, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
      await stripe.deliver(completed, { header: null }),
      await stripe.deliver(completed, { header: 'garbage' }),
      await stripe.deliver(completed, { signature: '0'.repeat(64) }),
    ];
    for (const response of refusals) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as { type: string }).type).toBe('/problems/webhook-signature-invalid');
    }
    // A body changed after signing (signed for the original bytes).
    const original = JSON.stringify(completed);
    const header = await stripe.sign(original);
    const tampered = await app.handle(
      new Request('http://localhost/v1/billing/stripe/webhook', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': header },
        body: original.replace('"amount_total":500', '"amount_total":50000'),
      }),
    );
    expect(tampered.status).toBe(400);
    expect((await api(tenant, 'GET', '/v1/credits')).body.balance).toBe(0);
    // The genuine delivery still works afterwards.
    expect(await deliverAll([completed])).toEqual(['purchased']);
  });

  test('unknown event types and customers are acknowledged and ignored', async () => {
    const unknownType = stripe.event('customer.tax_id.created', { id: 'txi_1', object: 'tax_id' });
    const unknownCustomer = stripe.event('invoice.paid', {
      id: 'in_nobody',
      object: 'invoice',
      customer: 'cus_nobody',
      amount_paid: 900,
      amount_due: 900,
      currency: 'usd',
      attempt_count: 1,
      lines: { data: [] },
    });
    expect(await deliverAll([unknownType, unknownCustomer])).toEqual(['ignored', 'unknown-customer']);
    // With a declared length (as Stripe sends it) the body reaches the route's own text parser.
    const body = JSON.stringify(unknownType);
    const declared = await app.handle(
      new Request('http://localhost/v1/billing/stripe/webhook', {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(Buffer.byteLength(body)),
          'stripe-signature': await stripe.sign(body),
        },
        body,
      }),
    );
    expect(await declared.json()).toEqual({ received: true, outcome: 'ignored' });
  });

  test('signed events not shaped as their type says are a 400, with nothing applied', async () => {
    const { tenant, subscriptionId } = await subscribedTenant();
    const current = stripe.subscriptions.get(subscriptionId) as Stripe.Subscription;
    const customer = current.customer;
    const before = await ledger(tenant.tenantId);
    const eventsBefore = await typesOf(tenant.tenantId);
    const malformed: Array<[string, unknown]> = [
      ['invoice.paid', null],
      ['invoice.paid', { id: 'in_no_lines', object: 'invoice', customer, amount_paid: 900, currency: 'usd' }],
      [
        'invoice.paid',
        {
          id: 'in_text',
          customer,
          amount_paid: 'a lot',
          amount_due: 0,
          currency: 'usd',
          attempt_count: 1,
          lines: { data: [null] },
        },
      ],
      ['invoice.payment_failed', { id: 'in_failed', customer, lines: { data: [] } }],
      ['customer.subscription.updated', { ...current, items: undefined }],
      ['customer.subscription.updated', { ...current, status: 42 }],
      ['checkout.session.completed', { id: 'cs_x', customer, metadata: { creditPackId: 7 } }],
      ['charge.refunded', { id: 'ch_x', customer, amount: -1, amount_refunded: 1 }],
      ['charge.refunded', 'a string'],
    ];
    for (const [type, object] of malformed) {
      const response = await stripe.deliver(stripe.event(type, object as never));
      const body = (await response.json()) as { type?: string; detail?: string };
      expect({ type, status: response.status, problem: body.type }).toEqual({
        type,
        status: 400,
        problem: '/problems/webhook-payload-invalid',
      });
      expect(body.detail).toContain(`(${type}) is not shaped as expected`);
    }
    expect(await ledger(tenant.tenantId)).toEqual(before);
    expect(await typesOf(tenant.tenantId)).toEqual(eventsBefore);
  });

  test('cross-tenant: an event applies to the tenant of its customer, whatever its metadata says', async () => {
    const a = await subscribedTenant();
    const b = await app.signUp();
    const current = stripe.subscriptions.get(a.subscriptionId) as Stripe.Subscription;
    const forgedMetadata = stripe.event(
      'customer.subscription.updated',
      { ...current, metadata: { tenantId: b.tenantId, planId: 'business' }, cancel_at_period_end: true },
      { created: Math.floor(Date.now() / 1000) + 60 },
    );
    expect(await deliverAll([forgedMetadata])).toEqual(['applied']);
    expect((await api(a.tenant, 'GET', '/v1/billing/subscription')).body.cancelAtPeriodEnd).toBe(true);
    expect((await api(b, 'GET', '/v1/billing/subscription')).body).toMatchObject({
      status: 'none',
      customer: false,
    });
    expect(await typesOf(b.tenantId)).not.toContain('billing.subscription.updated');
    // B's Checkout makes B's own customer.
    await api(b, 'POST', '/v1/billing/checkout', { planId: 'pro' });
    const owners = [...stripe.customers.values()].map((customer) => customer.metadata.tenantId);
    expect(owners.filter((id) => id === b.tenantId)).toHaveLength(1);
    expect(owners.filter((id) => id === a.tenant.tenantId)).toHaveLength(1);
  });

  test('a customer Stripe no longer knows (moved from test to live keys) is replaced, not a dead end', async () => {
    const tenant = await app.signUp();
    expect((await api(tenant, 'POST', '/v1/billing/portal')).status).toBe(200);
    const mine = () =>
      [...stripe.customers.values()].filter((customer) => customer.metadata.tenantId === tenant.tenantId);
    const [first] = mine();
    if (!first) throw new Error('no customer');
    stripe.customers.delete(first.id);
    const checkout = await api(tenant, 'POST', '/v1/billing/checkout', { creditPackId: 'pack-500' });
    expect(checkout.status).toBe(200);
    const [second] = mine();
    expect(second?.id).toBeDefined();
    expect(second?.id).not.toBe(first.id);
    expect(stripe.checkoutSessions.get(sessionIdOf(checkout.body.url))?.customer).toBe(second?.id);
    const [stored] = await selectRows<{ stripe_customer_id: string }>(
      app.database.owner,
      sql`select stripe_customer_id from billing_accounts where tenant_id = ${tenant.tenantId}`,
    );
    expect(stored?.stripe_customer_id).toBe(second?.id);
    // And the portal goes on with the new one.
    const portal = await api(tenant, 'POST', '/v1/billing/portal');
    expect(stripe.portalSessions.get(sessionIdOf(portal.body.url))?.customer).toBe(second?.id);
  });

  test('bad input and Stripe refusing: clear problems, nothing half done', async () => {
    const tenant = await app.signUp();
    const cases: Array<[unknown, number, string]> = [
      [{ planId: 'nope' }, 404, 'not-found'],
      [{ creditPackId: 'nope' }, 404, 'not-found'],
      [{ planId: 'free' }, 409, 'not-purchasable'],
      [{ creditPackId: 'pack-free' }, 409, 'not-purchasable'],
      [{ planId: 'ghost' }, 502, 'billing-provider-unavailable'],
    ];
    for (const [body, status, type] of cases) {
      const answer = await api(tenant, 'POST', '/v1/billing/checkout', body);
      expect([answer.status, answer.body.type]).toEqual([status, `/problems/${type}`]);
    }
    expect((await api(tenant, 'GET', '/v1/billing/subscription')).body.status).toBe('none');
  });
});

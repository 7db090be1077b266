import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Stripe from 'stripe';
import { type LocalStripe, parseStripeForm, startStripeServer } from './stripe-server.ts';

const DAY = 86_400;

let local: LocalStripe;
let stripe: Stripe;
let receiver: ReturnType<typeof Bun.serve>;
/** What the webhook receiver accepted (signature verified) and what it refused, with why. */
const accepted: Stripe.Event[] = [];
const refused: string[] = [];

/** A webhook endpoint written the way ours must be: verify the raw body, then trust it. */
async function verifyingHandler(request: Request): Promise<Response> {
  const body = await request.text();
  try {
    const event = await stripe.webhooks.constructEventAsync(
      body,
      request.headers.get('stripe-signature') ?? '',
      local.webhookSecret,
      300,
    );
    accepted.push(event);
    return new Response('ok');
  } catch (error) {
    refused.push((error as Error).message);
    return new Response('bad signature', { status: 400 });
  }
}

beforeAll(async () => {
  receiver = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: verifyingHandler });
  local = await startStripeServer({
    webhookUrl: `http://127.0.0.1:${receiver.port}/v1/billing/stripe/webhook`,
  });
  local.addPrice({ id: 'price_pro_month', unitAmount: 2900, interval: 'month', name: 'Pro' });
  local.addPrice({ id: 'price_pro_year', unitAmount: 29000, interval: 'year', name: 'Pro yearly' });
  local.addPrice({ id: 'price_pack_1000', unitAmount: 1500, currency: 'EUR', name: '1000 credits' });
  stripe = new Stripe(local.secretKey, { ...local.sdkOptions, maxNetworkRetries: 0 });
});

afterAll(async () => {
  await local.close();
  receiver.stop(true);
});

async function newCustomer(tenantId: string): Promise<Stripe.Customer> {
  return stripe.customers.create({
    email: `${tenantId}@example.test`,
    name: tenantId,
    metadata: { tenantId },
  });
}

async function expectStripeError<T extends Stripe.errors.StripeError>(
  call: () => Promise<unknown>,
  kind: new (...args: never[]) => T,
): Promise<T> {
  const error = await call().then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(kind);
  return error as T;
}

describe('form parsing', () => {
  test('bracket keys nest into objects and arrays, values stay strings', () => {
    expect(
      parseStripeForm(
        'mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=2&line_items[1][price]=p2' +
          '&metadata[tenantId]=t%201&subscription_data[metadata][t]=1&expand[0]=customer&__proto__[x]=1',
      ),
    ).toEqual({
      mode: 'subscription',
      line_items: [{ price: 'price_1', quantity: '2' }, { price: 'p2' }],
      metadata: { tenantId: 't 1' },
      subscription_data: { metadata: { t: '1' } },
      expand: ['customer'],
    });
  });
});

describe('API', () => {
  test('customers: create, retrieve, recorded with their idempotency key', async () => {
    const customer = await stripe.customers.create(
      { email: 'a@example.test', name: 'Acme', metadata: { tenantId: 'tenant-a' } },
      { idempotencyKey: 'customer-tenant-a' },
    );
    expect(customer.id).toMatch(/^cus_/);
    expect(customer).toMatchObject({
      object: 'customer',
      email: 'a@example.test',
      name: 'Acme',
      livemode: false,
    });
    expect(customer.metadata).toEqual({ tenantId: 'tenant-a' });
    expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
    expect(local.requests.find((r) => r.idempotencyKey === 'customer-tenant-a')).toEqual({
      method: 'POST',
      path: '/v1/customers',
      params: { email: 'a@example.test', name: 'Acme', metadata: { tenantId: 'tenant-a' } },
      idempotencyKey: 'customer-tenant-a',
    });
  });

  test('a repeated create under one idempotency key answers the first customer; other params are refused', async () => {
    const params = { name: 'Beta', metadata: { tenantId: 'tenant-b' } };
    const first = await stripe.customers.create(params, { idempotencyKey: 'customer-tenant-b' });
    const again = await stripe.customers.create(params, { idempotencyKey: 'customer-tenant-b' });
    expect(again.id).toBe(first.id);
    // Same params in another order are the same request; the replay says so in a header.
    const replay = await fetch(`${local.url}/v1/customers`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${local.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
        'idempotency-key': 'customer-tenant-b',
      },
      body: 'metadata[tenantId]=tenant-b&name=Beta',
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as Stripe.Customer).id).toBe(first.id);
    expect([...local.customers.values()].filter((c) => c.metadata.tenantId === 'tenant-b')).toHaveLength(1);

    const error = await expectStripeError(
      () => stripe.customers.create({ name: 'Other' }, { idempotencyKey: 'customer-tenant-b' }),
      Stripe.errors.StripeIdempotencyError,
    );
    expect(error.type).toBe('StripeIdempotencyError');
    expect(error.statusCode).toBe(400);
  });

  test('a wrong or missing API key gets 401', async () => {
    const wrong = new Stripe('sk_test_wrong_key_0000000000', { ...local.sdkOptions, maxNetworkRetries: 0 });
    const error = await expectStripeError(
      () => wrong.customers.create({ name: 'x' }),
      Stripe.errors.StripeAuthenticationError,
    );
    expect(error.message).toStartWith('Invalid API Key provided: sk_test_');
    expect(error.message).not.toContain('wrong_key');

    const anonymous = await fetch(`${local.url}/v1/customers`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe(
      'invalid_request_error',
    );
  });

  test('a subscription Checkout Session', async () => {
    const customer = await newCustomer('tenant-c');
    const metadata = { tenantId: 'tenant-c', planId: 'pro' };
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      client_reference_id: 'tenant-c',
      line_items: [{ price: 'price_pro_month', quantity: 1 }],
      success_url: 'http://app.test/billing?checkout=success',
      cancel_url: 'http://app.test/billing?checkout=cancelled',
      allow_promotion_codes: true,
      metadata,
      subscription_data: { metadata },
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 2900,
      currency: 'usd',
      customer: customer.id,
      client_reference_id: 'tenant-c',
      allow_promotion_codes: true,
      metadata,
      url: `${local.url}/checkout/${session.id}`,
    });
    const read = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items', 'customer'] });
    expect(read.line_items?.data[0]?.price?.id).toBe('price_pro_month');
    expect((read.customer as Stripe.Customer).email).toBe('tenant-c@example.test');
  });

  test('a payment Checkout Session', async () => {
    const customer = await newCustomer('tenant-d');
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      customer: customer.id,
      line_items: [{ price: 'price_pack_1000', quantity: 2 }],
      success_url: 'http://app.test/ok',
      metadata: { tenantId: 'tenant-d', creditPackId: 'pack-1000' },
      payment_intent_data: { metadata: { tenantId: 'tenant-d' } },
    });
    expect(session).toMatchObject({ mode: 'payment', amount_total: 3000, currency: 'eur', status: 'open' });
  });

  test('Checkout refuses what Stripe refuses', async () => {
    const unknownPrice = await expectStripeError(
      () =>
        stripe.checkout.sessions.create({
          mode: 'payment',
          line_items: [{ price: 'price_nope', quantity: 1 }],
          success_url: 'http://app.test/ok',
        }),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(unknownPrice).toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'line_items[0][price]',
      message: "No such price: 'price_nope'",
    });

    const noMode = await expectStripeError(
      () => stripe.checkout.sessions.create({ line_items: [{ price: 'price_pack_1000', quantity: 1 }] }),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(noMode).toMatchObject({ code: 'parameter_missing', param: 'mode' });

    const noSuccessUrl = await expectStripeError(
      () =>
        stripe.checkout.sessions.create({
          mode: 'payment',
          line_items: [{ price: 'price_pack_1000', quantity: 1 }],
        }),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(noSuccessUrl).toMatchObject({ code: 'parameter_missing', param: 'success_url' });

    const noItems = await expectStripeError(
      () => stripe.checkout.sessions.create({ mode: 'subscription', success_url: 'http://app.test/ok' }),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(noItems).toMatchObject({ code: 'parameter_missing', param: 'line_items' });
  });

  test('a portal session; an unknown customer is refused', async () => {
    const customer = await newCustomer('tenant-e');
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: 'http://app.test/billing',
    });
    expect(portal.id).toMatch(/^bps_/);
    expect(portal).toMatchObject({
      object: 'billing_portal.session',
      customer: customer.id,
      return_url: 'http://app.test/billing',
      url: `${local.url}/portal/${portal.id}`,
    });
    expect((await fetch(portal.url)).status).toBe(200);

    const error = await expectStripeError(
      () => stripe.billingPortal.sessions.create({ customer: 'cus_missing' }),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'customer' });
  });

  test('unknown objects and routes get 404 in Stripe error shape', async () => {
    const missing = await expectStripeError(
      () => stripe.subscriptions.retrieve('sub_missing'),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const route = await expectStripeError(
      () => stripe.rawRequest('GET', '/v1/nothing_here'),
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(route.statusCode).toBe(404);
    expect(route.message).toStartWith('Unrecognized request URL (GET: /v1/nothing_here)');
    expect((await stripe.prices.retrieve('price_pro_month')).unit_amount).toBe(2900);
  });
});

/** The object of the index-th event (failing the test when there is none). */
function objectOf<T = Stripe.Event.Data.Object>(events: Stripe.Event[], index: number): T {
  const event = events[index];
  if (!event) throw new Error(`no event #${index} among ${events.map((e) => e.type).join(', ')}`);
  return event.data.object as T;
}

function expectEventEnvelope(event: Stripe.Event, type: string) {
  expect(event.id).toMatch(/^evt_/);
  expect(event).toMatchObject({
    object: 'event',
    type,
    api_version: Stripe.API_VERSION,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  });
  expect(Math.abs(event.created - Date.now() / 1000)).toBeLessThan(5);
}

async function openSession(tenantId: string, mode: 'payment' | 'subscription', price: string) {
  const customer = await newCustomer(tenantId);
  const metadata: Record<string, string> =
    mode === 'subscription' ? { tenantId, planId: 'pro' } : { tenantId, creditPackId: 'pack-1000' };
  return stripe.checkout.sessions.create({
    mode,
    customer: customer.id,
    line_items: [{ price, quantity: 1 }],
    success_url: 'http://app.test/billing?checkout=success&session={CHECKOUT_SESSION_ID}',
    metadata,
    ...(mode === 'subscription' ? { subscription_data: { metadata } } : {}),
  });
}

describe("Stripe's side", () => {
  test('a paid subscription Checkout: subscription created, first invoice paid, session completed', async () => {
    const session = await openSession('tenant-s', 'subscription', 'price_pro_month');
    const events = await local.completeCheckout(session.id);
    expect(events.map((e) => e.type)).toEqual([
      'customer.subscription.created',
      'invoice.paid',
      'checkout.session.completed',
    ]);
    const [created, paid, completed] = events as [Stripe.Event, Stripe.Event, Stripe.Event];
    expectEventEnvelope(created, 'customer.subscription.created');

    const subscription = created.data.object as Stripe.Subscription;
    expect(subscription.id).toMatch(/^sub_/);
    expect(subscription).toMatchObject({
      object: 'subscription',
      status: 'active',
      customer: session.customer as string,
      metadata: { tenantId: 'tenant-s', planId: 'pro' },
      cancel_at_period_end: false,
    });
    const item = subscription.items.data[0] as Stripe.SubscriptionItem;
    expect(item.id).toMatch(/^si_/);
    expect(item.price.id).toBe('price_pro_month');
    expect(item.current_period_end - item.current_period_start).toBeGreaterThanOrEqual(28 * DAY);
    expect(item.current_period_end - item.current_period_start).toBeLessThanOrEqual(31 * DAY);

    const invoice = paid.data.object as Stripe.Invoice;
    expect(invoice.id).toMatch(/^in_/);
    expect(invoice).toMatchObject({
      object: 'invoice',
      status: 'paid',
      billing_reason: 'subscription_create',
      amount_paid: 2900,
      customer: session.customer as string,
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(subscription.id);
    expect(invoice.parent?.subscription_details?.metadata).toEqual({ tenantId: 'tenant-s', planId: 'pro' });
    const line = invoice.lines.data[0] as Stripe.InvoiceLineItem;
    expect(line.period).toEqual({ start: item.current_period_start, end: item.current_period_end });
    expect(line.pricing?.price_details?.price).toBe('price_pro_month');

    const done = completed.data.object as Stripe.Checkout.Session;
    expect(done).toMatchObject({
      id: session.id,
      status: 'complete',
      payment_status: 'paid',
      subscription: subscription.id,
      invoice: invoice.id,
      metadata: { tenantId: 'tenant-s', planId: 'pro' },
    });
    // The API answers the same state as the events.
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('active');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('complete');
    await expect(local.completeCheckout(session.id)).rejects.toThrow('complete');
  });

  test('a paid payment Checkout: only checkout.session.completed', async () => {
    const session = await openSession('tenant-p', 'payment', 'price_pack_1000');
    const events = await local.completeCheckout(session.id);
    expect(events.map((e) => e.type)).toEqual(['checkout.session.completed']);
    expectEventEnvelope(events[0] as Stripe.Event, 'checkout.session.completed');
    expect((events[0] as Stripe.Event).data.object).toMatchObject({
      id: session.id,
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 1500,
      metadata: { tenantId: 'tenant-p', creditPackId: 'pack-1000' },
    });
  });

  test('renewal, failed renewal, recovery, plan change and cancellation', async () => {
    const session = await openSession('tenant-r', 'subscription', 'price_pro_month');
    const created = await local.completeCheckout(session.id);
    const id = objectOf<Stripe.Subscription>(created, 0).id;
    const itemOf = (events: Stripe.Event[], index: number) =>
      objectOf<Stripe.Subscription>(events, index).items.data[0] as Stripe.SubscriptionItem;
    const first = itemOf(created, 0);

    const renewal = await local.renewSubscription(id);
    expect(renewal.map((e) => e.type)).toEqual(['invoice.paid', 'customer.subscription.updated']);
    const renewedInvoice = objectOf<Stripe.Invoice>(renewal, 0);
    expect(renewedInvoice.billing_reason).toBe('subscription_cycle');
    // The invoice looks back on the period that ended; its line is the period that starts.
    expect(renewedInvoice.period_end).toBe(first.current_period_end);
    expect(renewedInvoice.lines.data[0]?.period.start).toBe(first.current_period_end);
    expect(itemOf(renewal, 1).current_period_start).toBe(first.current_period_end);
    expect(renewal[1]?.data.previous_attributes).toHaveProperty('items');

    const failure = await local.failPayment(id);
    expect(failure.map((e) => e.type)).toEqual(['invoice.payment_failed', 'customer.subscription.updated']);
    expect(objectOf<Stripe.Invoice>(failure, 0).status).toBe('open');
    expect(objectOf<Stripe.Subscription>(failure, 1).status).toBe('past_due');
    expect(failure[1]?.data.previous_attributes).toMatchObject({ status: 'active' });

    const recovery = await local.renewSubscription(id);
    expect(objectOf<Stripe.Invoice>(recovery, 0).id).toBe(objectOf<Stripe.Invoice>(failure, 0).id);
    expect(objectOf<Stripe.Invoice>(recovery, 0).status).toBe('paid');
    expect(objectOf<Stripe.Subscription>(recovery, 1).status).toBe('active');

    const yearly = await local.updateSubscription(id, { priceId: 'price_pro_year' });
    expect(yearly.map((e) => e.type)).toEqual(['customer.subscription.updated']);
    const yearlyItem = itemOf(yearly, 0);
    expect(yearlyItem.price.id).toBe('price_pro_year');
    expect(yearlyItem.current_period_end - yearlyItem.current_period_start).toBeGreaterThan(364 * DAY);

    const scheduled = await local.updateSubscription(id, { cancelAtPeriodEnd: true });
    expect(objectOf(scheduled, 0)).toMatchObject({ cancel_at_period_end: true, status: 'active' });

    const cancelled = await local.cancelSubscription(id);
    expect(cancelled.map((e) => e.type)).toEqual(['customer.subscription.deleted']);
    expect(objectOf(cancelled, 0)).toMatchObject({ id, status: 'canceled' });
    await expect(local.renewSubscription(id)).rejects.toThrow('canceled');
  });
});

describe('webhooks', () => {
  test('a delivery carries a signature the SDK accepts', async () => {
    const event = local.event('tenant.something_new', { id: 'obj_1', object: 'thing', tenantId: 't' });
    const response = await local.deliver(event);
    expect(response.status).toBe(200);
    expect(accepted.at(-1)).toEqual(event);
    expect(local.deliveries.at(-1)).toEqual({ event, status: 200 });
  });

  test('a wrong secret, a stale timestamp, a changed body or no header is refused', async () => {
    const event = local.event('invoice.paid', { id: 'in_x', object: 'invoice' });
    const before = refused.length;
    expect((await local.deliver(event, { secret: 'whsec_someone_else' })).status).toBe(400);
    expect((await local.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(400);
    const header = await local.sign(JSON.stringify(event, null, 2));
    expect((await local.deliver(event, { body: JSON.stringify(event), header })).status).toBe(400);
    expect((await local.deliver(event, { header: null })).status).toBe(400);
    expect(refused.slice(before)).toHaveLength(4);
    expect(refused[before + 1]).toContain('tolerance');
  });

  test('the handle option receives deliveries as Requests', async () => {
    const other = await startStripeServer({ handle: verifyingHandler, webhookSecret: local.webhookSecret });
    try {
      const event = other.event('customer.subscription.updated', { id: 'sub_x', object: 'subscription' });
      expect((await other.deliver(event)).status).toBe(200);
      expect(accepted.at(-1)?.id).toBe(event.id);
    } finally {
      await other.close();
    }
  });

  test("Checkout's pay button completes the session, delivers its events and returns to success_url", async () => {
    const session = await openSession('tenant-w', 'subscription', 'price_pro_month');
    const url = session.url ?? '';
    expect((await fetch(url)).status).toBe(200);
    const before = accepted.length;
    const paid = await fetch(url, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(
      `http://app.test/billing?checkout=success&session=${session.id}`,
    );
    expect(accepted.slice(before).map((e) => e.type)).toEqual([
      'customer.subscription.created',
      'invoice.paid',
      'checkout.session.completed',
    ]);
  });
});

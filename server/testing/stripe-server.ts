import Stripe from 'stripe';

/**
 * A local stand-in for the parts of Stripe's REST API (v1, form-encoded, API version of the installed SDK)
 * that billing calls, plus Stripe's side of Checkout, the Customer Portal and webhooks. Objects follow the
 * SDK's type definitions field for field, so code tested against it reads them where real Stripe puts them
 * (e.g. the period on subscription items, an invoice's subscription under `parent.subscription_details`).
 */

/** One API call as the server received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The form body (POST) or query (GET), bracket keys nested into objects and arrays; values are strings. */
  params: Record<string, unknown>;
  idempotencyKey: string | null;
}

/** A price to sell, as set up in the Stripe dashboard. */
export interface PriceSeed {
  id: string;
  /** In the currency's minor unit (cents). */
  unitAmount: number;
  /** Default `usd`. */
  currency?: string;
  /** A recurring price bills every interval; null or absent = a one-off price. */
  interval?: 'month' | 'year' | null;
  /** The product's name, shown as the line item's description. */
  name?: string;
}

/** What the Customer Portal can change on a subscription. */
export interface SubscriptionChange {
  priceId?: string;
  cancelAtPeriodEnd?: boolean;
  status?: Stripe.Subscription.Status;
}

/** Overrides for a webhook delivery, to test how the receiver handles bad ones. */
export interface DeliverOptions {
  /** Unix seconds signed into the header (default now): an old one makes a stale delivery. */
  timestamp?: number;
  /** Signing secret (default the endpoint's): another one makes a forged delivery. */
  secret?: string;
  /** Raw body sent and signed instead of the event's JSON. */
  body?: string;
  /** The `v1` signature value to put in the header instead of the computed one. */
  signature?: string;
  /** The whole `Stripe-Signature` header, sent verbatim (null = no header at all). */
  header?: string | null;
}

export interface StripeServerOptions {
  /** The key API calls must carry (default a fixed `sk_test_…`). */
  secretKey?: string;
  /** The webhook endpoint's signing secret (default a fixed `whsec_…`). */
  webhookSecret?: string;
  /** Where `deliver` POSTs events; can also be set later on the returned object. */
  webhookUrl?: string;
  /** A fetch-like handler that receives deliveries instead of `webhookUrl` (e.g. an Elysia app's `handle`). */
  handle?: (request: Request) => Promise<Response>;
}

export interface LocalStripe {
  port: number;
  /** `http://127.0.0.1:<port>`, e.g. for an `apiUrl` setting. */
  url: string;
  secretKey: string;
  webhookSecret: string;
  /** Where `deliver` sends events (when no `handle` is set). */
  webhookUrl: string | null;
  handle: ((request: Request) => Promise<Response>) | null;
  /** Options for `new Stripe(key, …)` that point the SDK here. */
  sdkOptions: { host: string; port: number; protocol: 'http' };
  requests: RecordedRequest[];
  /** Every event made so far (also served at `GET /v1/events/:id`), in order. */
  events: Stripe.Event[];
  /** Every delivery made so far with the status the receiver answered. */
  deliveries: Array<{ event: Stripe.Event; status: number }>;
  customers: Map<string, Stripe.Customer>;
  checkoutSessions: Map<string, Stripe.Checkout.Session>;
  subscriptions: Map<string, Stripe.Subscription>;
  invoices: Map<string, Stripe.Invoice>;
  portalSessions: Map<string, Stripe.BillingPortal.Session>;
  prices: Map<string, Stripe.Price>;
  addPrice(price: PriceSeed): Stripe.Price;
  /**
   * Stripe's side of a paid Checkout: marks the session complete and answers the events Stripe would send,
   * in this order. Mode `payment`: [checkout.session.completed]. Mode `subscription`: creates an active
   * subscription (metadata from `subscription_data.metadata`) and its paid first invoice, and answers
   * [customer.subscription.created, invoice.paid, checkout.session.completed].
   */
  completeCheckout(sessionId: string): Promise<Stripe.Event[]>;
  /**
   * A paid renewal: the next period starts and its invoice is paid; answers [invoice.paid,
   * customer.subscription.updated]. When the latest invoice is still open (after `failPayment`), that invoice
   * is paid instead (the period stays). With `cancel_at_period_end`, the subscription ends instead:
   * [customer.subscription.deleted].
   */
  renewSubscription(subscriptionId: string): Promise<Stripe.Event[]>;
  /**
   * A failed renewal: the next period starts with an open invoice and the subscription goes past_due;
   * answers [invoice.payment_failed, customer.subscription.updated]. When already past_due, another failed
   * attempt on the open invoice: [invoice.payment_failed].
   */
  failPayment(subscriptionId: string): Promise<Stripe.Event[]>;
  /**
   * A change made in the Customer Portal: answers [customer.subscription.updated] (with
   * `previous_attributes`), or [customer.subscription.deleted] for status `canceled`.
   */
  updateSubscription(subscriptionId: string, change: SubscriptionChange): Promise<Stripe.Event[]>;
  /** Cancels now, as the Portal's "cancel immediately" does: [customer.subscription.deleted]. */
  cancelSubscription(subscriptionId: string): Promise<Stripe.Event[]>;
  /** An event of any type (unknown ones too) around a snapshot of `object`. */
  event(
    type: string,
    object: object,
    options?: { created?: number; previousAttributes?: Record<string, unknown> },
  ): Stripe.Event;
  /** The `Stripe-Signature` header Stripe would send for `payload`. */
  sign(
    payload: string,
    options?: { timestamp?: number; secret?: string; signature?: string },
  ): Promise<string>;
  /** POSTs the event, signed, to `handle` or `webhookUrl`, and answers the receiver's response. */
  deliver(event: Stripe.Event, options?: DeliverOptions): Promise<Response>;
  close(): Promise<void>;
}

const DEFAULT_SECRET_KEY = 'sk_test_local0000000000000000000000000000';
const DEFAULT_WEBHOOK_SECRET = 'whsec_local00000000000000000000000000000000';
const API_VERSION = Stripe.API_VERSION;

// ---------------------------------------------------------------------------------------------------------
// Form encoding

const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);
type Container = Record<string, unknown> | unknown[];

/** `a[b][0][c]` → ['a', 'b', '0', 'c']; a key that is not bracket-shaped stays whole. */
function keySegments(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!match?.[1]) return [key];
  const segments = [match[1]];
  for (const inner of (match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)) segments.push(inner[1] ?? '');
  return segments;
}

function getChild(container: Container, segment: string): unknown {
  return Array.isArray(container) ? container[Number(segment)] : container[segment];
}

function setChild(container: Container, segment: string, value: unknown): void {
  if (!Array.isArray(container)) container[segment] = value;
  else if (segment === '') container.push(value);
  else if (/^\d+$/.test(segment)) container[Number(segment)] = value;
}

/** The SDK skips undefined array entries but keeps their indexes; Stripe reads such arrays densely. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((entry) => entry !== undefined).map(compact);
  if (value && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value))
      (value as Record<string, unknown>)[key] = compact(entry);
  }
  return value;
}

/**
 * Parses Stripe's form encoding (`line_items[0][price]=p&metadata[k]=v`) into nested objects and arrays,
 * values left as strings, the way Stripe's API reads the SDK's requests.
 */
export function parseStripeForm(encoded: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(encoded)) {
    const segments = keySegments(key);
    if (segments.some((segment) => UNSAFE_KEYS.has(segment))) continue;
    let container: Container = root;
    segments.forEach((segment, index) => {
      const next = segments[index + 1];
      if (next === undefined) {
        setChild(container, segment, value);
        return;
      }
      let child = getChild(container, segment);
      if (!child || typeof child !== 'object') {
        child = next === '' || /^\d+$/.test(next) ? [] : {};
        setChild(container, segment, child);
      }
      container = child as Container;
    });
  }
  return compact(root) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomId(prefix: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = prefix;
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * On the wire a decimal is a string; the SDK turns it into its `Decimal` class only in API responses it
 * parses, while webhook payloads keep the string. The objects here are wire objects.
 */
const decimal = (value: number) => String(value) as unknown as Stripe.Decimal;

/** Adds billing intervals the way Stripe does: calendar months and years, clamped to the month's end. */
function addInterval(seconds: number, interval: Stripe.Price.Recurring.Interval, count = 1): number {
  if (interval === 'day') return seconds + count * 86_400;
  if (interval === 'week') return seconds + count * 7 * 86_400;
  const date = new Date(seconds * 1000);
  const months = interval === 'year' ? 12 * count : count;
  const targetMonth = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), targetMonth + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(date.getUTCDate(), lastDay));
  date.setUTCMonth(targetMonth);
  return Math.floor(date.getTime() / 1000);
}

function text(params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' ? value : undefined;
}

function metadataParam(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    // An empty value unsets a key, as in Stripe.
    if (typeof entry === 'string' && entry !== '') metadata[key] = entry;
  }
  return metadata;
}

/** Params compared for idempotency: key order must not matter, as for Stripe. */
function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${fingerprint(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const snapshot = <T>(value: T): T => structuredClone(value);

/** Top-level fields whose values differ, with their old values: what Stripe puts in `previous_attributes`. */
function changedFields(before: object, after: object): Record<string, unknown> {
  const old = before as Record<string, unknown>;
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(old[key]) !== JSON.stringify(value)) changed[key] = snapshot(old[key]);
  }
  return changed;
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

// ---------------------------------------------------------------------------------------------------------
// Errors in Stripe's shape

interface StripeErrorBody {
  type: 'invalid_request_error' | 'idempotency_error' | 'api_error';
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }
}

const missingParam = (param: string) =>
  new ApiError(400, {
    type: 'invalid_request_error',
    code: 'parameter_missing',
    message: `Missing required param: ${param}.`,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/parameter-missing',
  });

const invalidParam = (param: string, message: string) =>
  new ApiError(400, {
    type: 'invalid_request_error',
    code: 'parameter_invalid',
    message,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/parameter-invalid',
  });

/** Unknown id in a path answers 404; unknown id in a parameter answers 400, as Stripe does. */
const noSuch = (kind: string, id: string, param: string, status = 400) =>
  new ApiError(status, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
  });

function redactKey(key: string): string {
  if (key.length <= 12) return key.replace(/./g, '*');
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

/** The key of a `Bearer` header, or of a `Basic` one (key as user name), which Stripe also accepts. */
function presentedKey(authorization: string | null): string | null {
  if (!authorization) return null;
  const [scheme, value] = authorization.split(/\s+/, 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') return atob(value).split(':')[0] ?? null;
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// The server

/** What a Checkout Session was created with that the session object itself does not show. */
interface SessionExtras {
  lineItems: Stripe.LineItem[];
  subscriptionMetadata: Record<string, string>;
}

interface StoredResponse {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

/**
 * Starts the local Stripe on a free loopback port. Point the SDK at it with `sdkOptions` (and
 * `maxNetworkRetries: 0` for fast failures), seed prices with `addPrice`, and play Stripe's side of a
 * payment with `completeCheckout` and friends, delivering the events they answer with `deliver`.
 */
export async function startStripeServer(options: StripeServerOptions = {}): Promise<LocalStripe> {
  const secretKey = options.secretKey ?? DEFAULT_SECRET_KEY;
  const webhookSecret = options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;
  const customers = new Map<string, Stripe.Customer>();
  const checkoutSessions = new Map<string, Stripe.Checkout.Session>();
  const sessionExtras = new Map<string, SessionExtras>();
  const subscriptions = new Map<string, Stripe.Subscription>();
  const invoices = new Map<string, Stripe.Invoice>();
  const portalSessions = new Map<string, Stripe.BillingPortal.Session>();
  const prices = new Map<string, Stripe.Price>();
  const eventsById = new Map<string, Stripe.Event>();
  const idempotent = new Map<string, StoredResponse>();
  const requests: RecordedRequest[] = [];
  const portalConfiguration = randomId('bpc_1', 23);
  let baseUrl = '';

  // ---- objects ----

  function addPrice(seed: PriceSeed): Stripe.Price {
    const interval = seed.interval ?? null;
    const price: Stripe.Price = {
      id: seed.id,
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      created: now(),
      currency: (seed.currency ?? 'usd').toLowerCase(),
      custom_unit_amount: null,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: seed.name ?? null,
      product: randomId('prod_', 14),
      recurring: interval
        ? { interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' }
        : null,
      tax_behavior: 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: interval ? 'recurring' : 'one_time',
      unit_amount: seed.unitAmount,
      unit_amount_decimal: decimal(seed.unitAmount),
    };
    prices.set(price.id, price);
    return price;
  }

  /** The legacy `plan` Stripe still mirrors on subscription items from a recurring price. */
  function planOf(price: Stripe.Price): Stripe.Plan {
    const recurring = price.recurring ?? {
      interval: 'month',
      interval_count: 1,
      meter: null,
      trial_period_days: null,
      usage_type: 'licensed',
    };
    return {
      id: price.id,
      object: 'plan',
      active: price.active,
      amount: price.unit_amount,
      amount_decimal: price.unit_amount_decimal,
      billing_scheme: price.billing_scheme,
      created: price.created,
      currency: price.currency,
      interval: recurring.interval,
      interval_count: recurring.interval_count,
      livemode: false,
      metadata: {},
      meter: null,
      nickname: price.nickname,
      product: price.product,
      tiers_mode: null,
      transform_usage: null,
      trial_period_days: null,
      usage_type: recurring.usage_type,
    };
  }

  function createCustomer(params: Record<string, unknown>): Stripe.Customer {
    const customer: Stripe.Customer = {
      id: randomId('cus_', 14),
      object: 'customer',
      address: null,
      balance: 0,
      created: now(),
      currency: null,
      customer_account: null,
      default_source: null,
      delinquent: false,
      description: text(params, 'description') ?? null,
      discount: null,
      email: text(params, 'email') ?? null,
      invoice_prefix: randomId('', 8).toUpperCase(),
      invoice_settings: {
        custom_fields: null,
        default_payment_method: null,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: metadataParam(params.metadata),
      name: text(params, 'name') ?? null,
      next_invoice_sequence: 1,
      phone: text(params, 'phone') ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
    customers.set(customer.id, customer);
    return customer;
  }

  function customerId(value: Stripe.Checkout.Session['customer'] | Stripe.Subscription['customer']) {
    return typeof value === 'string' ? value : (value?.id ?? null);
  }

  function lineItemOf(price: Stripe.Price, quantity: number): Stripe.LineItem {
    const amount = (price.unit_amount ?? 0) * quantity;
    return {
      id: randomId('li_1', 23),
      object: 'item',
      adjustable_quantity: null,
      amount_discount: 0,
      amount_subtotal: amount,
      amount_tax: 0,
      amount_total: amount,
      currency: price.currency,
      description: price.nickname,
      metadata: {},
      price: snapshot(price),
      quantity,
    };
  }

  function createCheckoutSession(params: Record<string, unknown>): Stripe.Checkout.Session {
    const mode = text(params, 'mode');
    if (!mode) throw missingParam('mode');
    if (mode !== 'payment' && mode !== 'subscription' && mode !== 'setup') {
      throw invalidParam('mode', `Invalid mode: must be one of payment, setup, or subscription`);
    }
    const uiMode = text(params, 'ui_mode') ?? 'hosted_page';
    const hosted = uiMode === 'hosted_page' || uiMode === 'hosted';
    const successUrl = text(params, 'success_url');
    if (hosted && !successUrl) throw missingParam('success_url');
    const customer = text(params, 'customer');
    if (customer && !customers.has(customer)) throw noSuch('customer', customer, 'customer');

    const rawItems = Array.isArray(params.line_items) ? params.line_items : [];
    if (mode !== 'setup' && rawItems.length === 0) throw missingParam('line_items');
    const lineItems = rawItems.map((raw, index) => {
      const item = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      const priceId = text(item, 'price');
      if (!priceId) throw missingParam(`line_items[${index}][price]`);
      const price = prices.get(priceId);
      if (!price) throw noSuch('price', priceId, `line_items[${index}][price]`);
      const quantity = text(item, 'quantity');
      if (!quantity) {
        throw new ApiError(400, {
          type: 'invalid_request_error',
          code: 'parameter_missing',
          message: `Quantity is required. Add \`quantity\` to \`line_items[${index}]\``,
          param: `line_items[${index}][quantity]`,
        });
      }
      if (!/^\d+$/.test(quantity) || Number(quantity) < 1) {
        throw invalidParam(
          `line_items[${index}][quantity]`,
          'This value must be greater than or equal to 1.',
        );
      }
      return lineItemOf(price, Number(quantity));
    });
    const recurring = lineItems.filter((item) => item.price?.recurring);
    if (mode === 'subscription' && recurring.length === 0) {
      throw invalidParam(
        'line_items',
        'You must provide at least one recurring price in `subscription` mode when using prices.',
      );
    }
    if (mode === 'payment' && recurring.length > 0) {
      throw invalidParam(
        'line_items',
        'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
      );
    }
    const currencies = new Set(lineItems.map((item) => item.currency));
    if (currencies.size > 1) {
      throw invalidParam('line_items', 'All prices on a Checkout Session must have the same currency.');
    }

    const id = randomId('cs_test_a1', 56);
    const created = now();
    const amount = mode === 'setup' ? null : lineItems.reduce((sum, item) => sum + item.amount_total, 0);
    const allowPromotionCodes = text(params, 'allow_promotion_codes');
    const session: Stripe.Checkout.Session = {
      id,
      object: 'checkout.session',
      adaptive_pricing: null,
      after_expiration: null,
      allow_promotion_codes: allowPromotionCodes === undefined ? null : allowPromotionCodes === 'true',
      allowed_payment_method_types: null,
      amount_subtotal: amount,
      amount_total: amount,
      automatic_tax: { enabled: false, liability: null, provider: null, status: null },
      billing_address_collection: null,
      cancel_url: text(params, 'cancel_url') ?? null,
      client_reference_id: text(params, 'client_reference_id') ?? null,
      client_secret: hosted ? null : `${id}_secret_${randomId('', 24)}`,
      collected_information: null,
      consent: null,
      consent_collection: null,
      created,
      currency: lineItems[0]?.currency ?? text(params, 'currency') ?? null,
      currency_conversion: null,
      custom_fields: [],
      custom_text: {
        after_submit: null,
        shipping_address: null,
        submit: null,
        terms_of_service_acceptance: null,
      },
      customer: customer ?? null,
      customer_account: null,
      customer_creation: customer ? null : mode === 'payment' ? 'if_required' : 'always',
      customer_details: null,
      customer_email: text(params, 'customer_email') ?? null,
      discounts: [],
      expires_at: created + 24 * 3600,
      integration_identifier: null,
      invoice: null,
      invoice_creation: null,
      livemode: false,
      locale: null,
      managed_payments: null,
      metadata: metadataParam(params.metadata),
      mode,
      origin_context: null,
      payment_intent: null,
      payment_link: null,
      payment_method_collection: mode === 'payment' ? null : 'always',
      payment_method_configuration_details: null,
      payment_method_options: {},
      payment_method_types: ['card'],
      payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
      permissions: null,
      recovered_from: null,
      saved_payment_method_options: null,
      setup_intent: mode === 'setup' ? randomId('seti_1', 23) : null,
      shipping_address_collection: null,
      shipping_cost: null,
      shipping_options: [],
      status: 'open',
      submit_type: null,
      subscription: null,
      success_url: successUrl ?? null,
      total_details: amount === null ? null : { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      ui_mode: uiMode,
      url: hosted ? `${baseUrl}/checkout/${id}` : null,
      wallet_options: null,
    };
    checkoutSessions.set(id, session);
    const subscriptionData = params.subscription_data as Record<string, unknown> | undefined;
    sessionExtras.set(id, {
      lineItems,
      subscriptionMetadata: metadataParam(subscriptionData?.metadata),
    });
    return session;
  }

  function createPortalSession(params: Record<string, unknown>): Stripe.BillingPortal.Session {
    const customer = text(params, 'customer');
    if (!customer) throw missingParam('customer');
    if (!customers.has(customer)) throw noSuch('customer', customer, 'customer');
    const id = randomId('bps_1', 23);
    const session: Stripe.BillingPortal.Session = {
      id,
      object: 'billing_portal.session',
      configuration: text(params, 'configuration') ?? portalConfiguration,
      created: now(),
      customer,
      customer_account: null,
      flow: null,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: text(params, 'return_url') ?? null,
      url: `${baseUrl}/portal/${id}`,
    };
    portalSessions.set(id, session);
    return session;
  }

  function subscriptionItemOf(
    subscriptionId: string,
    price: Stripe.Price,
    quantity: number,
    start: number,
  ): Stripe.SubscriptionItem {
    const recurring = price.recurring;
    if (!recurring) throw new Error(`price ${price.id} is not recurring`);
    return {
      id: randomId('si_', 14),
      object: 'subscription_item',
      billing_thresholds: null,
      created: start,
      current_period_end: addInterval(start, recurring.interval, recurring.interval_count),
      current_period_start: start,
      current_trial: null,
      discounts: [],
      metadata: {},
      plan: planOf(price),
      price: snapshot(price),
      quantity,
      subscription: subscriptionId,
      tax_rates: [],
    };
  }

  function createSubscription(
    customer: string,
    items: Array<{ price: Stripe.Price; quantity: number }>,
    metadata: Record<string, string>,
  ): Stripe.Subscription {
    const id = randomId('sub_1', 23);
    const start = now();
    const data = items.map((item) => subscriptionItemOf(id, item.price, item.quantity, start));
    const subscription: Stripe.Subscription = {
      id,
      object: 'subscription',
      application: null,
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: start,
      billing_cycle_anchor_config: null,
      billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: start },
      billing_schedules: [],
      billing_thresholds: null,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
      collection_method: 'charge_automatically',
      created: start,
      currency: items[0]?.price.currency ?? 'usd',
      customer,
      customer_account: null,
      days_until_due: null,
      default_payment_method: randomId('pm_1', 23),
      default_source: null,
      default_tax_rates: [],
      description: null,
      discounts: [],
      ended_at: null,
      invoice_settings: {
        account_tax_ids: null,
        custom_fields: null,
        description: null,
        footer: null,
        issuer: { type: 'self' },
      },
      items: { object: 'list', data, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
      latest_invoice: null,
      livemode: false,
      managed_payments: null,
      metadata,
      next_pending_invoice_item_invoice: null,
      on_behalf_of: null,
      pause_collection: null,
      payment_settings: {
        payment_method_options: null,
        payment_method_types: null,
        save_default_payment_method: 'off',
      },
      pending_invoice_item_interval: null,
      pending_setup_intent: null,
      pending_update: null,
      schedule: null,
      start_date: start,
      status: 'active',
      test_clock: null,
      transfer_data: null,
      trial_end: null,
      trial_settings: {
        end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
      },
      trial_start: null,
    };
    subscriptions.set(id, subscription);
    return subscription;
  }

  /** An invoice for the subscription's items over their current periods, paid or (failed) left open. */
  function createInvoice(
    subscription: Stripe.Subscription,
    billingReason: Stripe.Invoice.BillingReason,
    outcome: 'paid' | 'failed',
    usagePeriod: { start: number; end: number },
  ): Stripe.Invoice {
    const id = randomId('in_1', 23);
    const created = now();
    const customerKey = customerId(subscription.customer) ?? '';
    const customer = customers.get(customerKey);
    const sequence = customer?.next_invoice_sequence ?? 1;
    if (customer) customer.next_invoice_sequence = sequence + 1;
    const lines: Stripe.InvoiceLineItem[] = subscription.items.data.map((item) => {
      const quantity = item.quantity ?? 1;
      const amount = (item.price.unit_amount ?? 0) * quantity;
      const product = typeof item.price.product === 'string' ? item.price.product : item.price.product.id;
      return {
        id: randomId('il_1', 23),
        object: 'line_item',
        amount,
        currency: item.price.currency,
        description: `${quantity} × ${item.price.nickname ?? item.price.id}`,
        discount_amounts: [],
        discountable: true,
        discounts: [],
        invoice: id,
        livemode: false,
        metadata: snapshot(subscription.metadata),
        parent: {
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: false,
            proration_details: { credited_items: null },
            subscription: subscription.id,
            subscription_item: item.id,
          },
          type: 'subscription_item_details',
        },
        period: { start: item.current_period_start, end: item.current_period_end },
        pretax_credit_amounts: [],
        pricing: {
          price_details: { price: item.price.id, product },
          type: 'price_details',
          unit_amount_decimal: item.price.unit_amount_decimal,
        },
        quantity,
        quantity_decimal: decimal(quantity),
        subscription: subscription.id,
        subtotal: amount,
        taxes: [],
      };
    });
    const total = lines.reduce((sum, line) => sum + line.amount, 0);
    const paid = outcome === 'paid';
    const invoice: Stripe.Invoice = {
      id,
      object: 'invoice',
      account_country: 'US',
      account_name: 'Local Stripe',
      account_tax_ids: null,
      amount_due: total,
      amount_overpaid: 0,
      amount_paid: paid ? total : 0,
      amount_remaining: paid ? 0 : total,
      amount_shipping: 0,
      application: null,
      attempt_count: 1,
      attempted: true,
      auto_advance: !paid,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
      automatically_finalizes_at: null,
      billing_reason: billingReason,
      collection_method: 'charge_automatically',
      created,
      currency: subscription.currency,
      custom_fields: null,
      customer: customerKey,
      customer_account: null,
      customer_address: null,
      customer_email: customer?.email ?? null,
      customer_name: customer?.name ?? null,
      customer_phone: null,
      customer_shipping: null,
      customer_tax_exempt: 'none',
      customer_tax_ids: [],
      default_payment_method: null,
      default_source: null,
      default_tax_rates: [],
      description: null,
      discounts: [],
      due_date: null,
      effective_at: created,
      ending_balance: 0,
      footer: null,
      from_invoice: null,
      hosted_invoice_url: null,
      invoice_pdf: null,
      issuer: { type: 'self' },
      last_finalization_error: null,
      latest_revision: null,
      lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
      livemode: false,
      metadata: {},
      next_payment_attempt: paid ? null : created + 3 * 86_400,
      number: `${customer?.invoice_prefix ?? 'LOCAL'}-${String(sequence).padStart(4, '0')}`,
      on_behalf_of: null,
      parent: {
        quote_details: null,
        subscription_details: { metadata: snapshot(subscription.metadata), subscription: subscription.id },
        type: 'subscription_details',
      },
      payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
      period_end: usagePeriod.end,
      period_start: usagePeriod.start,
      post_payment_credit_notes_amount: 0,
      pre_payment_credit_notes_amount: 0,
      receipt_number: null,
      rendering: null,
      shipping_cost: null,
      shipping_details: null,
      starting_balance: 0,
      statement_descriptor: null,
      status: paid ? 'paid' : 'open',
      status_transitions: {
        finalized_at: created,
        marked_uncollectible_at: null,
        paid_at: paid ? created : null,
        voided_at: null,
      },
      subtotal: total,
      subtotal_excluding_tax: total,
      test_clock: null,
      total,
      total_discount_amounts: [],
      total_excluding_tax: total,
      total_pretax_credit_amounts: [],
      total_taxes: [],
      webhooks_delivered_at: null,
    };
    invoices.set(id, invoice);
    subscription.latest_invoice = id;
    return invoice;
  }

  // ---- events ----

  const events: Stripe.Event[] = [];

  function makeEvent(
    type: string,
    object: object,
    options: { created?: number; previousAttributes?: Record<string, unknown> } = {},
  ): Stripe.Event {
    const data: Record<string, unknown> = { object: snapshot(object) };
    if (options.previousAttributes) data.previous_attributes = snapshot(options.previousAttributes);
    // Stripe.Event is a union keyed by `type`; an event built from a runtime string (unknown types too)
    // cannot be narrowed to one member.
    const event = {
      id: randomId('evt_1', 23),
      object: 'event',
      api_version: API_VERSION,
      created: options.created ?? now(),
      data,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    } as unknown as Stripe.Event;
    events.push(event);
    eventsById.set(event.id, event);
    return event;
  }

  function requireSubscription(subscriptionId: string): Stripe.Subscription {
    const subscription = subscriptions.get(subscriptionId);
    if (!subscription) throw new Error(`No such subscription: '${subscriptionId}'`);
    if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') {
      throw new Error(`Subscription ${subscriptionId} has ended (${subscription.status})`);
    }
    return subscription;
  }

  /** Moves every item one interval on; answers the period that just ended (an invoice's usage period). */
  function advancePeriod(subscription: Stripe.Subscription): { start: number; end: number } {
    const first = subscription.items.data[0];
    const ended = { start: first?.current_period_start ?? now(), end: first?.current_period_end ?? now() };
    for (const item of subscription.items.data) {
      const recurring = item.price.recurring;
      if (!recurring) continue;
      item.current_period_start = item.current_period_end;
      item.current_period_end = addInterval(
        item.current_period_start,
        recurring.interval,
        recurring.interval_count,
      );
    }
    return ended;
  }

  function openLatestInvoice(subscription: Stripe.Subscription): Stripe.Invoice | undefined {
    const latest = typeof subscription.latest_invoice === 'string' ? subscription.latest_invoice : null;
    const invoice = latest ? invoices.get(latest) : undefined;
    return invoice?.status === 'open' ? invoice : undefined;
  }

  function endSubscription(subscription: Stripe.Subscription): Stripe.Event[] {
    const at = now();
    subscription.status = 'canceled';
    subscription.canceled_at ??= at;
    subscription.ended_at = at;
    subscription.cancellation_details = {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: subscription.cancellation_details?.reason ?? 'cancellation_requested',
    };
    return [makeEvent('customer.subscription.deleted', subscription)];
  }

  async function completeCheckout(sessionId: string): Promise<Stripe.Event[]> {
    const session = checkoutSessions.get(sessionId);
    const extras = sessionExtras.get(sessionId);
    if (!session || !extras) throw new Error(`No such checkout.session: '${sessionId}'`);
    if (session.status !== 'open') throw new Error(`Checkout Session ${sessionId} is ${session.status}`);

    let customer = session.customer ? customers.get(customerId(session.customer) ?? '') : undefined;
    // Subscription mode always ends with a customer; Stripe creates one when the session had none.
    if (!customer && session.mode === 'subscription') {
      customer = createCustomer(session.customer_email ? { email: session.customer_email } : {});
      session.customer = customer.id;
    }
    session.status = 'complete';
    session.customer_details = {
      address: null,
      business_name: null,
      email: customer?.email ?? session.customer_email,
      individual_name: null,
      name: customer?.name ?? null,
      phone: null,
      tax_exempt: 'none',
      tax_ids: [],
    };

    if (session.mode !== 'subscription') {
      if (session.mode === 'payment') {
        session.payment_status = 'paid';
        session.payment_intent = randomId('pi_3', 23);
      }
      return [makeEvent('checkout.session.completed', session)];
    }

    const items = extras.lineItems
      .filter((item) => item.price?.recurring)
      .map((item) => ({ price: item.price as Stripe.Price, quantity: item.quantity ?? 1 }));
    const subscription = createSubscription(customer?.id ?? '', items, extras.subscriptionMetadata);
    const invoice = createInvoice(subscription, 'subscription_create', 'paid', {
      start: subscription.start_date,
      end: subscription.start_date,
    });
    session.subscription = subscription.id;
    session.invoice = invoice.id;
    session.payment_status = 'paid';
    return [
      makeEvent('customer.subscription.created', subscription),
      makeEvent('invoice.paid', invoice),
      makeEvent('checkout.session.completed', session),
    ];
  }

  async function renewSubscription(subscriptionId: string): Promise<Stripe.Event[]> {
    const subscription = requireSubscription(subscriptionId);
    const before = snapshot(subscription);
    const open = openLatestInvoice(subscription);
    let invoice: Stripe.Invoice;
    if (open) {
      // A retry that succeeds pays the open invoice; the period already moved on when it failed.
      open.status = 'paid';
      open.amount_paid = open.amount_due;
      open.amount_remaining = 0;
      open.attempt_count += 1;
      open.next_payment_attempt = null;
      open.auto_advance = false;
      open.status_transitions.paid_at = now();
      invoice = open;
    } else {
      if (subscription.cancel_at_period_end) return endSubscription(subscription);
      const ended = advancePeriod(subscription);
      invoice = createInvoice(subscription, 'subscription_cycle', 'paid', ended);
    }
    subscription.status = 'active';
    return [
      makeEvent('invoice.paid', invoice),
      makeEvent('customer.subscription.updated', subscription, {
        previousAttributes: changedFields(before, subscription),
      }),
    ];
  }

  async function failPayment(subscriptionId: string): Promise<Stripe.Event[]> {
    const subscription = requireSubscription(subscriptionId);
    const open = openLatestInvoice(subscription);
    if (open && subscription.status === 'past_due') {
      open.attempt_count += 1;
      open.next_payment_attempt = now() + 3 * 86_400;
      return [makeEvent('invoice.payment_failed', open)];
    }
    const before = snapshot(subscription);
    const ended = advancePeriod(subscription);
    const invoice = createInvoice(subscription, 'subscription_cycle', 'failed', ended);
    subscription.status = 'past_due';
    return [
      makeEvent('invoice.payment_failed', invoice),
      makeEvent('customer.subscription.updated', subscription, {
        previousAttributes: changedFields(before, subscription),
      }),
    ];
  }

  async function updateSubscription(
    subscriptionId: string,
    change: SubscriptionChange,
  ): Promise<Stripe.Event[]> {
    const subscription = requireSubscription(subscriptionId);
    if (change.status === 'canceled') return endSubscription(subscription);
    const before = snapshot(subscription);
    const at = now();
    if (change.priceId !== undefined) {
      const price = prices.get(change.priceId);
      if (!price?.recurring) throw new Error(`No recurring price '${change.priceId}' (addPrice it first)`);
      const item = subscription.items.data[0];
      if (!item) throw new Error(`Subscription ${subscriptionId} has no items`);
      const intervalChanged =
        item.price.recurring?.interval !== price.recurring.interval ||
        item.price.recurring?.interval_count !== price.recurring.interval_count;
      item.price = snapshot(price);
      item.plan = planOf(price);
      // Switching between monthly and yearly restarts the billing cycle, as in Stripe.
      if (intervalChanged) {
        item.current_period_start = at;
        item.current_period_end = addInterval(at, price.recurring.interval, price.recurring.interval_count);
        subscription.billing_cycle_anchor = at;
      }
    }
    if (change.cancelAtPeriodEnd !== undefined) {
      const periodEnd = subscription.items.data[0]?.current_period_end ?? null;
      subscription.cancel_at_period_end = change.cancelAtPeriodEnd;
      subscription.cancel_at = change.cancelAtPeriodEnd ? periodEnd : null;
      subscription.canceled_at = change.cancelAtPeriodEnd ? at : null;
      subscription.cancellation_details = {
        comment: null,
        feedback: null,
        feedback_option: null,
        reason: change.cancelAtPeriodEnd ? 'cancellation_requested' : null,
      };
    }
    if (change.status !== undefined) subscription.status = change.status;
    return [
      makeEvent('customer.subscription.updated', subscription, {
        previousAttributes: changedFields(before, subscription),
      }),
    ];
  }

  async function cancelSubscription(subscriptionId: string): Promise<Stripe.Event[]> {
    return endSubscription(requireSubscription(subscriptionId));
  }

  // ---- webhooks ----

  function sign(
    payload: string,
    signOptions: { timestamp?: number; secret?: string; signature?: string } = {},
  ): Promise<string> {
    return Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: signOptions.secret ?? webhookSecret,
      timestamp: signOptions.timestamp,
      signature: signOptions.signature,
    });
  }

  async function deliver(event: Stripe.Event, deliverOptions: DeliverOptions = {}): Promise<Response> {
    const target = local.handle ?? local.webhookUrl;
    if (!target) throw new Error('Nowhere to deliver: set webhookUrl or handle');
    // Stripe sends its events pretty-printed; a receiver must verify the raw bytes, not a re-serialization.
    const body = deliverOptions.body ?? JSON.stringify(event, null, 2);
    const header =
      deliverOptions.header !== undefined ? deliverOptions.header : await sign(body, deliverOptions);
    const headers = new Headers({
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      accept: '*/*; q=0.5, application/xml',
      'cache-control': 'no-cache',
    });
    if (header !== null) headers.set('stripe-signature', header);
    const init = { method: 'POST', headers, body };
    const response =
      typeof target === 'string'
        ? await fetch(target, init)
        : await target(new Request(local.webhookUrl ?? `${baseUrl}/webhook`, init));
    local.deliveries.push({ event, status: response.status });
    return response;
  }

  // ---- HTTP ----

  function lookup(id: string): object | undefined {
    return (
      customers.get(id) ??
      subscriptions.get(id) ??
      invoices.get(id) ??
      checkoutSessions.get(id) ??
      portalSessions.get(id) ??
      prices.get(id) ??
      eventsById.get(id)
    );
  }

  function lineItemsList(sessionId: string): Stripe.ApiList<Stripe.LineItem> {
    return {
      object: 'list',
      data: sessionExtras.get(sessionId)?.lineItems ?? [],
      has_more: false,
      url: `/v1/checkout/sessions/${sessionId}/line_items`,
    };
  }

  /** Top-level `expand[]` (e.g. `subscription`, `customer`, `line_items`); nested paths stay ids. */
  function expand(object: object & { id: string }, params: Record<string, unknown>): object {
    const fields = Array.isArray(params.expand) ? params.expand.filter((f) => typeof f === 'string') : [];
    if (fields.length === 0) return object;
    const expanded: Record<string, unknown> = { ...object };
    for (const field of fields) {
      if (field === 'line_items' && checkoutSessions.has(object.id)) {
        expanded.line_items = lineItemsList(object.id);
        continue;
      }
      const value = expanded[field];
      if (typeof value === 'string') expanded[field] = lookup(value) ?? value;
    }
    return expanded;
  }

  function found<T extends object & { id: string }>(
    map: Map<string, T>,
    kind: string,
    id: string,
    params: Record<string, unknown>,
  ): object {
    const object = map.get(id);
    if (!object) throw noSuch(kind, id, 'id', 404);
    return expand(object, params);
  }

  function route(method: string, path: string, params: Record<string, unknown>): object {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [, resource, second, third, fourth] = segments;
    const count = segments.length;
    if (method === 'POST' && path === '/v1/customers') return createCustomer(params);
    if (method === 'POST' && path === '/v1/checkout/sessions') return createCheckoutSession(params);
    if (method === 'POST' && path === '/v1/billing_portal/sessions') return createPortalSession(params);
    if (method === 'GET' && second) {
      if (resource === 'customers' && count === 3) return found(customers, 'customer', second, params);
      if (resource === 'subscriptions' && count === 3)
        return found(subscriptions, 'subscription', second, params);
      if (resource === 'invoices' && count === 3) return found(invoices, 'invoice', second, params);
      if (resource === 'prices' && count === 3) return found(prices, 'price', second, params);
      if (resource === 'events' && count === 3) return found(eventsById, 'event', second, params);
      if (resource === 'checkout' && second === 'sessions' && third) {
        if (count === 4) return found(checkoutSessions, 'checkout.session', third, params);
        if (count === 5 && fourth === 'line_items') {
          if (!checkoutSessions.has(third)) throw noSuch('checkout.session', third, 'id', 404);
          return lineItemsList(third);
        }
      }
    }
    throw new ApiError(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  function json(status: number, body: string, headers: Record<string, string>): Response {
    return new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });
  }

  async function api(request: Request, url: URL): Promise<Response> {
    const method = request.method.toUpperCase();
    const path = url.pathname;
    const raw = method === 'POST' ? await request.text() : url.search.slice(1);
    const params = parseStripeForm(raw);
    const idempotencyKey = request.headers.get('idempotency-key');
    requests.push({ method, path, params, idempotencyKey });
    const requestId = randomId('req_', 14);
    const headers: Record<string, string> = {
      'request-id': requestId,
      'stripe-version': request.headers.get('stripe-version') ?? API_VERSION,
    };
    if (idempotencyKey && method === 'POST') headers['idempotency-key'] = idempotencyKey;
    try {
      const key = presentedKey(request.headers.get('authorization'));
      if (key !== secretKey) {
        throw new ApiError(401, {
          type: 'invalid_request_error',
          message: key
            ? `Invalid API Key provided: ${redactKey(key)}`
            : "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        });
      }
      if (method !== 'POST' || !idempotencyKey)
        return json(200, JSON.stringify(route(method, path, params)), headers);

      const print = fingerprint(params);
      const stored = idempotent.get(idempotencyKey);
      if (stored) {
        if (stored.method !== method || stored.path !== path) {
          throw new ApiError(400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${stored.method} ${stored.path}' vs '${method} ${path}'). Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          });
        }
        if (stored.fingerprint !== print) {
          throw new ApiError(400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          });
        }
        return json(stored.status, stored.body, {
          ...headers,
          'idempotent-replayed': 'true',
          'original-request': stored.requestId,
        });
      }
      // Only a request that got past validation is remembered, as in Stripe: a rejected one may be retried
      // with the same key once fixed.
      const body = JSON.stringify(route(method, path, params));
      idempotent.set(idempotencyKey, { method, path, fingerprint: print, status: 200, body, requestId });
      return json(200, body, headers);
    } catch (error) {
      if (error instanceof ApiError) {
        return json(
          error.status,
          JSON.stringify({ error: { ...error.body, request_log_url: null } }),
          headers,
        );
      }
      return json(
        500,
        JSON.stringify({ error: { type: 'api_error', message: `Local Stripe failed: ${String(error)}` } }),
        headers,
      );
    }
  }

  /** The pages a customer's browser sees: Checkout (pay or cancel) and the Portal (go back). */
  async function page(request: Request, url: URL): Promise<Response> {
    const [kind, id] = url.pathname.split('/').filter(Boolean);
    const html = (status: number, body: string) =>
      new Response(`<!doctype html><meta charset="utf-8"><title>Local Stripe</title>${body}`, {
        status,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
    if (kind === 'checkout' && id) {
      const session = checkoutSessions.get(id);
      if (!session) return html(404, '<p>No such Checkout Session.</p>');
      if (request.method === 'POST') {
        if (session.status !== 'open') return html(409, `<p>This Checkout Session is ${session.status}.</p>`);
        const produced = await completeCheckout(id);
        if (local.handle || local.webhookUrl) for (const event of produced) await deliver(event);
        const back = (session.success_url ?? baseUrl).replaceAll('{CHECKOUT_SESSION_ID}', id);
        return Response.redirect(back, 303);
      }
      const amount = `${((session.amount_total ?? 0) / 100).toFixed(2)} ${(session.currency ?? '').toUpperCase()}`;
      const cancel = session.cancel_url
        ? `<a id="cancel" href="${escapeHtml(session.cancel_url)}">Cancel</a>`
        : '';
      return html(
        200,
        `<h1>Pay ${escapeHtml(amount)}</h1><p>Status: ${escapeHtml(session.status ?? '')}</p>` +
          `<form method="post"><button id="pay" type="submit">Pay</button></form>${cancel}`,
      );
    }
    if (kind === 'portal' && id) {
      const session = portalSessions.get(id);
      if (!session) return html(404, '<p>No such portal session.</p>');
      const back = session.return_url
        ? `<a id="return" href="${escapeHtml(session.return_url)}">Return</a>`
        : '';
      return html(200, `<h1>Billing portal</h1><p>Customer ${escapeHtml(session.customer)}</p>${back}`);
    }
    return html(404, '<p>Not found.</p>');
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      return url.pathname.startsWith('/v1/') ? api(request, url) : page(request, url);
    },
  });
  const port = server.port ?? 0;
  baseUrl = `http://127.0.0.1:${port}`;

  const local: LocalStripe = {
    port,
    url: baseUrl,
    secretKey,
    webhookSecret,
    webhookUrl: options.webhookUrl ?? null,
    handle: options.handle ?? null,
    sdkOptions: { host: '127.0.0.1', port, protocol: 'http' },
    requests,
    events,
    deliveries: [],
    customers,
    checkoutSessions,
    subscriptions,
    invoices,
    portalSessions,
    prices,
    addPrice,
    completeCheckout,
    renewSubscription,
    failPayment,
    updateSubscription,
    cancelSubscription,
    event: makeEvent,
    sign,
    deliver,
    close: () => server.stop(true),
  };
  return local;
}

import { describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { freePort } from '../../server/testing/server-process.ts';
import { type LocalStripe, startStripeServer } from '../../server/testing/stripe-server.ts';
import {
  accessTokenOf,
  balanceReads,
  callApi,
  goToSection,
  inviteThroughTheApp,
  joinAsNewPerson,
  liveUpdatesConnected,
  markPage,
  newPage,
  productUrl,
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// Paying through Stripe, end to end: the local Stripe-speaking server (API, Checkout and Portal pages,
// signed webhooks) on loopback, the real server configured for it, and Chromium going from the billing page
// to Checkout and back. An owner subscribes, buys a credit pack and opens the portal, while a viewer of the
// same workspace watches the balance move on their own open billing page.
//
// The tests of this file follow one workspace through its purchases, in order.

const catalog = {
  plans: [
    { id: 'free', name: 'Free', monthlyCredits: 100, price: null },
    {
      id: 'pro',
      name: 'Pro',
      monthlyCredits: 1000,
      stripePriceId: 'price_pro_monthly',
      price: { amount: 2900, currency: 'usd', interval: 'month' },
    },
  ],
  creditPacks: [
    {
      id: 'pack-500',
      name: '500 credits',
      credits: 500,
      stripePriceId: 'price_pack_500',
      price: { amount: 500, currency: 'usd' },
    },
  ],
};

const running = useProduct(async (onStop) => {
  // Checkout's return URLs are built from APP_URL, and Stripe must know where the webhook is: the port
  // comes first.
  const port = freePort();
  const stripe = await startStripeServer({ webhookUrl: `${productUrl(port)}/v1/billing/stripe/webhook` });
  onStop(() => stripe.close());
  stripe.addPrice({ id: 'price_pro_monthly', unitAmount: 2900, interval: 'month', name: 'Pro' });
  stripe.addPrice({ id: 'price_pack_500', unitAmount: 500, name: '500 credits' });
  const catalogDir = await mkdtemp(path.join(tmpdir(), 'wrapper-e2e-catalog-'));
  onStop(() => rm(catalogDir, { recursive: true, force: true }));
  const catalogPath = path.join(catalogDir, 'billing-catalog.json');
  await writeFile(catalogPath, JSON.stringify(catalog));
  return {
    options: {
      port,
      env: {
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        STRIPE_API_URL: stripe.url,
        BILLING_CATALOG: catalogPath,
      },
    },
    extra: { stripe },
  };
});

/** Waits until the billing page's subscription card names `plan` with the status badge `status`. */
async function subscriptionReads(page: Page, plan: string, status: string): Promise<void> {
  const card = page.getByRole('region', { name: 'Subscription' });
  await card.getByText(plan, { exact: true }).waitFor();
  await card.getByText(status, { exact: true }).waitFor();
}

/** On the local Checkout page: checks what is charged, pays, and waits for the way back to the app. */
async function payOnCheckout(page: Page, baseUrl: string, stripeUrl: string, amount: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${stripeUrl}/checkout/cs_test_`));
  await page.getByRole('heading', { name: `Pay ${amount}` }).waitFor();
  await page.getByRole('button', { name: 'Pay', exact: true }).click();
  await page.waitForURL(`${baseUrl}/billing?checkout=success`);
  await page.getByText('Payment received').waitFor();
}

/**
 * Keeps Stripe's webhook deliveries from the server until `release`: the browser is then back from
 * Checkout before the payment is applied, as often with real Stripe, and the page must catch up live.
 */
function holdWebhooks(local: LocalStripe) {
  const held: Request[] = [];
  local.handle = async (request) => {
    held.push(request);
    return Response.json({ received: true, outcome: 'held' });
  };
  return {
    get count() {
      return held.length;
    },
    /** Delivers what was held, in order, to the server; answers the server's statuses and outcomes. */
    async release(): Promise<Array<{ status: number; outcome: unknown }>> {
      local.handle = null;
      const answers: Array<{ status: number; outcome: unknown }> = [];
      for (const request of held.splice(0)) {
        const response = await fetch(request);
        const body = (await response.json()) as { outcome?: unknown };
        answers.push({ status: response.status, outcome: body.outcome });
      }
      return answers;
    },
  };
}

interface Workspace {
  tenantId: string;
  owner: Page;
  ownerToken: string;
  viewer: Page;
}

/** Set up by the first test once it passed, followed by the next ones. */
let workspace: Workspace | undefined;

function theWorkspace(): Workspace {
  if (!workspace) throw new Error('the workspace of the first test is missing (did it fail?)');
  return workspace;
}

describe('paying through Stripe', () => {
  test('an owner subscribes to Pro through Checkout; their billing page and a viewer’s follow the payment live', async () => {
    const { baseUrl, browser, stripe } = running();
    const unique = uniqueSuffix();
    const owner = await newPage(browser);
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Ada Lovelace',
      email: `ada+${unique}@example.com`,
      organizationName: `Analytical ${unique}`,
    });
    const ownerToken = await accessTokenOf(owner);
    const me = await callApi(baseUrl, ownerToken, 'GET', '/v1/me');
    const tenantId = String((me.body.tenant as { id: string }).id);

    // A viewer of the same workspace keeps the billing page open meanwhile.
    const viewerEmail = `charles+${unique}@example.com`;
    await inviteThroughTheApp(owner, baseUrl, { email: viewerEmail, role: 'Viewer' });
    const viewer = await newPage(browser);
    await joinAsNewPerson(viewer, baseUrl, { email: viewerEmail, name: 'Charles Babbage' });
    await goToSection(viewer, baseUrl, 'Billing', '/billing');
    await viewer
      .getByRole('region', { name: 'Subscription' })
      .getByText('No plan', { exact: true })
      .waitFor();
    await balanceReads(viewer, '0');
    await liveUpdatesConnected(viewer);
    await markPage(viewer);

    // The owner opens Billing: the catalog's plans and pack, Checkout available, no plan yet.
    await goToSection(owner, baseUrl, 'Billing', '/billing');
    const plans = owner.getByRole('list', { name: 'Plans' });
    await plans.getByRole('listitem', { name: 'Pro', exact: true }).getByText('$29.00 / month').waitFor();
    await owner.getByRole('list', { name: 'Credit packs' }).getByText('500 credits · $5.00').waitFor();
    await owner.getByRole('region', { name: 'Subscription' }).getByText('No plan', { exact: true }).waitFor();
    await balanceReads(owner, '0');
    expect(await owner.getByText('Online payments are not set up').count()).toBe(0);

    // Choose Pro → Stripe Checkout → Pay → back on the billing page, before Stripe's events arrive.
    const webhooks = holdWebhooks(stripe);
    const choosePro = owner.getByRole('button', { name: 'Choose Pro' });
    expect(await choosePro.isEnabled()).toBe(true);
    await choosePro.click();
    await payOnCheckout(owner, baseUrl, stripe.url, '29.00 USD');
    expect(webhooks.count).toBe(3);
    await owner.getByRole('region', { name: 'Subscription' }).getByText('No plan', { exact: true }).waitFor();
    await balanceReads(owner, '0');
    await liveUpdatesConnected(owner);
    await markPage(owner);

    // Stripe's events reach the server: both open pages follow without a reload.
    const answers = await webhooks.release();
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answers.map((answer) => answer.outcome)).toContain('allowance-granted');
    await subscriptionReads(owner, 'Pro', 'Active');
    await plans.getByRole('listitem', { name: 'Pro', exact: true }).getByText('Current plan').waitFor();
    await balanceReads(owner, '1,000');
    await owner
      .getByRole('table', { name: 'Credit ledger' })
      .getByRole('row')
      .filter({ hasText: 'Pro plan allowance' })
      .getByText('+1,000')
      .waitFor();
    // With a live subscription the plan is changed in the portal, not through a second Checkout.
    await owner.getByText('To switch to another plan or cancel, use “Manage billing”').waitFor();
    expect(await owner.getByRole('button', { name: /^Choose / }).count()).toBe(0);
    await owner.getByText('Payment received').waitFor();
    expect(owner.url()).toBe(`${baseUrl}/billing?checkout=success`);
    expect(await stillTheSamePage(owner)).toBe(true);

    await balanceReads(viewer, '1,000');
    await viewer
      .getByRole('table', { name: 'Credit ledger' })
      .getByRole('row')
      .filter({ hasText: 'Pro plan allowance' })
      .waitFor();
    // The viewer has no billing channel; the allowance tells their page the plan changed.
    await subscriptionReads(viewer, 'Pro', 'Active');
    expect(await stillTheSamePage(viewer)).toBe(true);

    // The API agrees, and a second Checkout for a plan is refused.
    const subscription = await callApi(baseUrl, ownerToken, 'GET', '/v1/billing/subscription');
    expect(subscription.status).toBe(200);
    expect(subscription.body).toMatchObject({
      planId: 'pro',
      status: 'active',
      source: 'stripe',
      cancelAtPeriodEnd: false,
      customer: true,
    });
    const again = await callApi(baseUrl, ownerToken, 'POST', '/v1/billing/checkout', { planId: 'pro' });
    expect(again.status).toBe(409);
    expect(String(again.body.type)).toEndWith('subscription-exists');

    // On Stripe's side: one customer for the workspace, with the subscription on the Pro price.
    const customers = [...stripe.customers.values()].filter((c) => c.metadata.tenantId === tenantId);
    expect(customers).toHaveLength(1);
    const subscriptions = [...stripe.subscriptions.values()].filter((s) => s.customer === customers[0]?.id);
    expect(subscriptions.map((s) => [s.status, s.items.data[0]?.price.id])).toEqual([
      ['active', 'price_pro_monthly'],
    ]);

    workspace = { tenantId, owner, ownerToken, viewer };
  }, 120_000);

  test('the owner buys a credit pack through Checkout; both pages show the new balance and the purchase', async () => {
    const { baseUrl, stripe } = running();
    const { owner, ownerToken, viewer } = theWorkspace();
    const deliveriesBefore = stripe.deliveries.length;

    // This time Stripe's events reach the server before the browser is sent back.
    await owner.getByRole('button', { name: 'Buy 500 credits' }).click();
    await payOnCheckout(owner, baseUrl, stripe.url, '5.00 USD');
    const delivered = stripe.deliveries.slice(deliveriesBefore);
    expect(delivered.map((delivery) => [delivery.event.type, delivery.status])).toEqual([
      ['checkout.session.completed', 200],
    ]);

    await balanceReads(owner, '1,500');
    const purchase = owner
      .getByRole('table', { name: 'Credit ledger' })
      .getByRole('row')
      .filter({ hasText: '500 credits purchased' });
    await purchase.getByText('Purchase', { exact: true }).waitFor();
    await purchase.getByText('+500', { exact: true }).waitFor();
    await purchase.getByText('1,500', { exact: true }).waitFor();
    await subscriptionReads(owner, 'Pro', 'Active');

    // The viewer's page, open all along, follows.
    await balanceReads(viewer, '1,500');
    await viewer
      .getByRole('table', { name: 'Credit ledger' })
      .getByRole('row')
      .filter({ hasText: '500 credits purchased' })
      .getByText('+500', { exact: true })
      .waitFor();
    expect(await stillTheSamePage(viewer)).toBe(true);

    const balance = await callApi(baseUrl, ownerToken, 'GET', '/v1/credits');
    expect(balance.status).toBe(200);
    expect(balance.body.balance).toBe(1500);
  }, 120_000);

  test('"Manage billing" opens the Customer Portal for the workspace’s customer, and its return link comes back', async () => {
    const { baseUrl, stripe } = running();
    const { tenantId, owner } = theWorkspace();
    const portalsBefore = stripe.portalSessions.size;

    await owner.getByRole('button', { name: 'Manage billing' }).click();
    await owner.waitForURL((url) => url.href.startsWith(`${stripe.url}/portal/bps_`));
    await owner.getByRole('heading', { name: 'Billing portal' }).waitFor();

    // The portal session is the one the page was sent to, for the workspace's customer, back to /billing.
    expect(stripe.portalSessions.size).toBe(portalsBefore + 1);
    const sessionId = new URL(owner.url()).pathname.split('/').pop() ?? '';
    const portal = stripe.portalSessions.get(sessionId);
    expect(portal?.return_url).toBe(`${baseUrl}/billing`);
    const customer = stripe.customers.get(portal?.customer ?? '');
    expect(customer?.metadata.tenantId).toBe(tenantId);
    await owner.getByText(`Customer ${customer?.id}`, { exact: true }).waitFor();

    await owner.getByRole('link', { name: 'Return' }).click();
    await owner.waitForURL(`${baseUrl}/billing`);
    await subscriptionReads(owner, 'Pro', 'Active');
    await balanceReads(owner, '1,500');
    expect(await owner.getByText('Payment received').count()).toBe(0);

    const { viewer } = theWorkspace();
    await viewer.context().close();
    await owner.context().close();
  }, 120_000);
});

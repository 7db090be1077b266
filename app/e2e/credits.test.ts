import { describe, expect, test } from 'bun:test';
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
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// Credits move outside the browser (an integration calling the API) and the dashboard and billing pages
// follow through the realtime connection, without a reload.

const running = useProduct();

function grant(baseUrl: string, token: string, amount: number, reason: string) {
  return callApi(baseUrl, token, 'POST', '/v1/credits/grants', { amount, reason });
}

function consume(baseUrl: string, token: string, amount: number, reason: string, key = crypto.randomUUID()) {
  return callApi(
    baseUrl,
    token,
    'POST',
    '/v1/credits/consume',
    { amount, reason },
    { 'idempotency-key': key },
  );
}

describe('credits', () => {
  test('the dashboard follows grants and spending made through the API, and warns of a low balance', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const page = await newPage(browser);
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Ada Lovelace',
      email: `ada+${unique}@example.com`,
      organizationName: `Analytical ${unique}`,
    });

    // Signing up lands on the dashboard, first in the navigation.
    expect(page.url()).toBe(`${baseUrl}/dashboard`);
    const navigation = page.getByRole('navigation', { name: 'Main' });
    expect(await navigation.getByRole('link').first().textContent()).toBe('Dashboard');
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await balanceReads(page, '0');
    await page.getByRole('img', { name: /none used/ }).waitFor();
    await liveUpdatesConnected(page);
    await markPage(page);
    const token = await accessTokenOf(page);

    // A grant made through the API shows up on the open page.
    expect((await grant(baseUrl, token, 1000, 'Welcome credits')).status).toBe(201);
    await balanceReads(page, '1,000');
    const recent = page.getByRole('table', { name: 'Recent transactions' });
    await recent.getByRole('row').filter({ hasText: 'Welcome credits' }).getByText('+1,000').waitFor();

    // Spending through the API: the balance drops and today's bar grows.
    const spent = await consume(baseUrl, token, 150, 'Nightly report');
    expect(spent.status).toBe(201);
    expect(spent.body.balance).toBe(850);
    await balanceReads(page, '850');
    await page.getByRole('img', { name: /150 in total, 150 today/ }).waitFor();
    const chartTable = page.getByRole('table', { name: 'Credits used per day' });
    expect(await chartTable.getByRole('row', { name: 'Today 150' }).count()).toBe(1);
    await recent.getByRole('row').filter({ hasText: 'Nightly report' }).getByText('\u2212150').waitFor();

    // A retry with the same Idempotency-Key is answered again but spends nothing more.
    const key = crypto.randomUUID();
    expect((await consume(baseUrl, token, 100, 'Export', key)).status).toBe(201);
    await page.getByRole('img', { name: /250 in total, 250 today/ }).waitFor();
    expect((await consume(baseUrl, token, 100, 'Export', key)).status).toBe(201);
    await balanceReads(page, '750');

    // A low-balance threshold, then spending that crosses it: the notice appears.
    const alert = page.getByRole('status').filter({ hasText: 'Credits are running low' });
    expect(await alert.count()).toBe(0);
    const threshold = await callApi(baseUrl, token, 'PUT', '/v1/credits/low-balance-threshold', {
      threshold: 500,
    });
    expect(threshold.status).toBe(200);
    expect((await consume(baseUrl, token, 300, 'Bulk import')).status).toBe(201);
    await balanceReads(page, '450');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('450 credits left, below the alert level of 500');
    await page.getByRole('img', { name: /550 in total, 550 today/ }).waitFor();
    expect(await recent.getByRole('row').filter({ hasText: 'Export' }).count()).toBe(1);

    // The same page all along: nothing reloaded it.
    expect(page.url()).toBe(`${baseUrl}/dashboard`);
    expect(await stillTheSamePage(page)).toBe(true);

    await page.context().close();
  }, 120_000);

  test('a viewer sees credits move live but cannot buy', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const owner = await newPage(browser);
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Peter Gibbons',
      email: `peter+${unique}@example.com`,
      organizationName: `Initech ${unique}`,
    });
    const token = await accessTokenOf(owner);
    expect((await grant(baseUrl, token, 200, 'Starter credits')).status).toBe(201);
    await callApi(baseUrl, token, 'PUT', '/v1/credits/low-balance-threshold', { threshold: 100 });

    const viewerEmail = `milton+${unique}@example.com`;
    await inviteThroughTheApp(owner, baseUrl, { email: viewerEmail, role: 'Viewer' });
    const viewer = await newPage(browser);
    await joinAsNewPerson(viewer, baseUrl, { email: viewerEmail, name: 'Milton Waddams' });
    await balanceReads(viewer, '200');
    await liveUpdatesConnected(viewer);
    await markPage(viewer);

    expect((await consume(baseUrl, token, 120, 'Stapler analysis')).status).toBe(201);
    await balanceReads(viewer, '80');
    await viewer.getByRole('img', { name: /120 today/ }).waitFor();
    const alert = viewer.getByRole('status').filter({ hasText: 'Credits are running low' });
    await alert.getByText('Ask someone who manages billing to add credits').waitFor();
    expect(await stillTheSamePage(viewer)).toBe(true);

    // The billing page is open to them, without anything to buy.
    await goToSection(viewer, baseUrl, 'Billing', '/billing');
    await viewer.getByRole('list', { name: 'Plans' }).getByText('Pro', { exact: true }).waitFor();
    await viewer.getByText('needs the billing:manage permission').waitFor();
    expect(await viewer.getByRole('button', { name: /^Choose / }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Manage billing' }).count()).toBe(0);
    await viewer
      .getByRole('table', { name: 'Credit ledger' })
      .getByRole('row')
      .filter({ hasText: 'Stapler analysis' })
      .waitFor();

    await viewer.context().close();
    await owner.context().close();
  }, 120_000);

  test('the billing page lists plans, packs and the ledger; without Stripe nothing can be bought', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const page = await newPage(browser);
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Grace Hopper',
      email: `grace+${unique}@example.com`,
      organizationName: `Globex ${unique}`,
    });
    const token = await accessTokenOf(page);
    expect((await grant(baseUrl, token, 5000, 'Pilot allowance')).status).toBe(201);

    await goToSection(page, baseUrl, 'Billing', '/billing');
    await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();

    // The catalog, and the subscription (none yet).
    const plans = page.getByRole('list', { name: 'Plans' });
    for (const name of ['Free', 'Pro', 'Business']) await plans.getByText(name, { exact: true }).waitFor();
    await page.getByRole('region', { name: 'Subscription' }).getByText('No plan', { exact: true }).waitFor();
    await page
      .getByRole('list', { name: 'Credit packs' })
      .getByText('1,000 credits', { exact: true })
      .first()
      .waitFor();

    // No Stripe here: the buttons are there for an owner, but disabled, and the page says why.
    await page.getByText('Online payments are not set up').waitFor();
    const choosePro = page.getByRole('button', { name: 'Choose Pro' });
    await choosePro.waitFor();
    expect(await choosePro.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Buy 1,000 credits' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Manage billing' }).isDisabled()).toBe(true);

    // The server agrees: Checkout answers that billing is not configured.
    const checkout = await callApi(baseUrl, token, 'POST', '/v1/billing/checkout', { planId: 'pro' });
    expect(checkout.status).toBe(503);
    expect(String(checkout.body.type)).toEndWith('billing-not-configured');

    // The ledger follows spending live.
    await liveUpdatesConnected(page);
    const ledger = page.getByRole('table', { name: 'Credit ledger' });
    await ledger.getByRole('row').filter({ hasText: 'Pilot allowance' }).waitFor();
    expect((await consume(baseUrl, token, 42, 'Quarterly forecast')).status).toBe(201);
    await ledger.getByRole('row').filter({ hasText: 'Quarterly forecast' }).getByText('\u221242').waitFor();
    await balanceReads(page, '4,958');

    // Coming back from Checkout shows what happened.
    await page.goto(`${baseUrl}/billing?checkout=cancelled`);
    await page.getByText('Checkout cancelled').waitFor();
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await page.waitForURL(`${baseUrl}/billing`);
    await page.getByText('Checkout cancelled').waitFor({ state: 'detached' });

    await page.context().close();
  }, 120_000);

  test('the ledger pages back with "Load more"', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const page = await newPage(browser);
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Katherine Johnson',
      email: `katherine+${unique}@example.com`,
      organizationName: `Orbital ${unique}`,
    });
    const token = await accessTokenOf(page);
    for (let index = 1; index <= 30; index++) {
      expect((await grant(baseUrl, token, index, `Grant number ${index}`)).status).toBe(201);
    }

    await goToSection(page, baseUrl, 'Billing', '/billing');
    // Once live updates are connected, the page has caught up with what happened before it opened
    // (a catch-up may load the page's data again, which starts the ledger over at its first page).
    await liveUpdatesConnected(page);
    const rows = page.getByRole('table', { name: 'Credit ledger' }).locator('tbody tr');
    await page
      .getByRole('table', { name: 'Credit ledger' })
      .getByText('Grant number 30', { exact: true })
      .waitFor();
    expect(await rows.count()).toBe(25);
    expect(await page.getByText('Grant number 5', { exact: true }).count()).toBe(0);

    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('Grant number 1', { exact: true }).waitFor();
    expect(await rows.count()).toBe(30);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    await page.context().close();
  }, 120_000);
});

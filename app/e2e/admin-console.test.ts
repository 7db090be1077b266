import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { signOperatorToken } from '../../server/features/admin/operator-token.ts';
import {
  accessTokenOf,
  callApi,
  goToSection,
  markPage,
  newPage,
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// The platform console, end to end: a platform admin (made the operator's way, as `bun run admin:create`
// does against a running server) finds a tenant, suspends and reactivates it, adjusts its credits, and
// watches every tenant's audit entries arrive live while another tenant's owner works in their own
// browser context. Someone who is not a platform admin opening /admin is refused and shown nothing.

const operatorSecret = `e2e-operator-secret-${crypto.randomUUID()}`;
const running = useProduct({ env: { JWT_SECRET: operatorSecret } });

/** Makes `email` a platform admin through the server's operator route (what `admin:create` calls). */
async function makePlatformAdmin(baseUrl: string, email: string): Promise<void> {
  const token = await signOperatorToken(operatorSecret, { platformAdminEmail: email });
  const response = await fetch(`${baseUrl}/v1/admin/operator/platform-admins`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (!response.ok)
    throw new Error(`the operator route answered ${response.status}: ${await response.text()}`);
}

/** Waits until `read` answers `expected` (entries may still be on their way through the relay). */
async function eventually(read: () => Promise<number>, expected: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await Bun.sleep(100);
    last = await read();
  }
  expect(last).toBe(expected);
}

const auditEntries = (page: Page) => page.getByRole('list', { name: 'Audit entries' });

async function createOrganization(page: Page, name: string): Promise<void> {
  const form = page.getByRole('form', { name: 'New organization' });
  await form.getByLabel('Organization name').fill(name);
  await form.getByRole('button', { name: 'Create organization' }).click();
  await form.getByText(`${name} was created.`).waitFor();
}

describe('the platform console', () => {
  test('tenants, a live cross-tenant audit stream, suspension and credits', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const adminEmail = `operator+${unique}@example.com`;
    const customerName = `Umbrella ${unique}`;

    const admin = await newPage(browser);
    await signUpThroughTheApp(admin, baseUrl, {
      name: 'Olivia Operator',
      email: adminEmail,
      organizationName: `Platform ${unique}`,
    });
    const customer = await newPage(browser);
    await signUpThroughTheApp(customer, baseUrl, {
      name: 'Carl Customer',
      email: `carl+${unique}@example.com`,
      organizationName: customerName,
    });

    // Before the grant there is no Admin entry; after it (and a fresh load of who she is) there is.
    const mainNav = admin.getByRole('navigation', { name: 'Main' });
    expect(await mainNav.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await makePlatformAdmin(baseUrl, adminEmail);
    await admin.goto(`${baseUrl}/dashboard`);
    await goToSection(admin, baseUrl, 'Admin', '/admin');

    // The tenants list, searched.
    await admin.getByLabel('Name or slug').fill(`umbrella ${unique}`);
    await admin.getByRole('button', { name: 'Search' }).click();
    await admin.waitForURL(/\/admin\?q=/);
    const tenants = admin.getByRole('table', { name: 'Tenants' });
    const customerRow = tenants.getByRole('row').filter({ hasText: customerName });
    await customerRow.waitFor();
    expect(await tenants.getByRole('row').count()).toBe(2);
    expect(await customerRow.getByText('Active').isVisible()).toBe(true);

    // The live stream: the customer's owner works in another browser; the entries arrive without a reload.
    await admin
      .getByRole('navigation', { name: 'Platform console' })
      .getByRole('link', { name: 'Live audit' })
      .click();
    await admin.waitForURL(`${baseUrl}/admin/audit`);
    await admin.getByRole('status', { name: 'Stream status' }).getByText('Live').waitFor();
    await markPage(admin);

    await goToSection(customer, baseUrl, 'Organizations', '/organizations');
    await createOrganization(customer, `Research ${unique}`);
    const research = auditEntries(admin)
      .getByRole('listitem')
      .filter({ hasText: `Research ${unique}` });
    await research.waitFor();
    expect(await research.getByText('organization.created').isVisible()).toBe(true);
    expect(await research.getByText('Carl Customer').isVisible()).toBe(true);

    // Filtered to one action (on the server for the entries loaded, here for those arriving). The
    // console's own reads of the log are recorded too (audit.read, in the admin's tenant, whenever the
    // page loads or follows admin:audit): the filter also keeps them out of the count below.
    await admin.getByLabel('Action').selectOption('organization.created');
    await admin.getByRole('button', { name: 'Filter' }).click();
    await admin.waitForURL(/action=organization.created/);
    await research.waitFor();

    // Paused: the next entry is held and counted, and shown on resume.
    await admin.getByRole('button', { name: 'Pause' }).click();
    await createOrganization(customer, `Legal ${unique}`);
    const resume = admin.getByRole('button', { name: 'Resume (1 new)' });
    await resume.waitFor();
    const legal = auditEntries(admin)
      .getByRole('listitem')
      .filter({ hasText: `Legal ${unique}` });
    expect(await legal.count()).toBe(0);
    await resume.click();
    await legal.waitFor();

    await customer.getByRole('button', { name: `Edit Research ${unique}` }).click();
    const editForm = customer.getByRole('form', { name: `Edit Research ${unique}` });
    await editForm.getByLabel('Name').fill(`Science ${unique}`);
    await editForm.getByRole('button', { name: 'Save changes' }).click();
    await editForm.waitFor({ state: 'detached' });
    await createOrganization(customer, `Sales ${unique}`);
    const sales = auditEntries(admin)
      .getByRole('listitem')
      .filter({ hasText: `Sales ${unique}` });
    await sales.waitFor();
    // The rename (organization.updated) came before Sales, and is filtered out.
    expect(await auditEntries(admin).getByText('organization.updated').count()).toBe(0);
    expect(await stillTheSamePage(admin)).toBe(true);

    // An entry's tenant leads to the tenant's page.
    await sales.getByRole('link').first().click();
    await admin.waitForURL(/\/admin\/tenants\//);
    await admin.getByRole('heading', { name: customerName }).waitFor();
    const members = admin.getByRole('table', { name: 'Members' });
    await members.getByText(`carl+${unique}@example.com`).waitFor();
    expect(await members.getByText('Owner').isVisible()).toBe(true);

    // Suspended (after confirming): the customer's token stops working; reactivated: it works again.
    const customerToken = await accessTokenOf(customer);
    await admin.getByRole('button', { name: 'Suspend tenant…' }).click();
    await admin
      .getByRole('group', { name: `Confirm suspending ${customerName}` })
      .getByRole('button', { name: 'Suspend tenant' })
      .click();
    await admin.getByRole('button', { name: 'Reactivate tenant…' }).waitFor();
    expect(await admin.getByRole('heading', { name: customerName }).getByText('Suspended').isVisible()).toBe(
      true,
    );
    expect((await callApi(baseUrl, customerToken, 'GET', '/v1/organizations')).status).toBe(401);
    await admin.getByRole('button', { name: 'Reactivate tenant…' }).click();
    await admin
      .getByRole('group', { name: `Confirm reactivating ${customerName}` })
      .getByRole('button', { name: 'Reactivate tenant' })
      .click();
    await admin.getByRole('button', { name: 'Suspend tenant…' }).waitFor();
    expect((await callApi(baseUrl, customerToken, 'GET', '/v1/organizations')).status).toBe(200);

    // Credits: added, removed, and a removal beyond the balance refused with the server's problem.
    const credits = admin.getByRole('form', { name: 'Adjust credits' });
    const balance = admin.getByRole('region', { name: 'Credit balance' });
    await credits.getByLabel('Credits').fill('500');
    await credits.getByLabel('Reason').fill('Welcome credits');
    await credits.getByRole('button', { name: 'Adjust credits' }).click();
    await credits.getByText('+500 credits: the balance is now 500.').waitFor();
    await balance.getByText('500', { exact: true }).waitFor();
    await credits.getByLabel('Credits').fill('-200');
    await credits.getByLabel('Reason').fill('Correction');
    await credits.getByRole('button', { name: 'Adjust credits' }).click();
    await balance.getByText('300', { exact: true }).waitFor();
    await credits.getByLabel('Credits').fill('-1000');
    await credits.getByLabel('Reason').fill('Too much');
    await credits.getByRole('button', { name: 'Adjust credits' }).click();
    await credits.getByRole('alert').waitFor();
    expect(await balance.getByText('300', { exact: true }).isVisible()).toBe(true);
    const ledger = await callApi(baseUrl, customerToken, 'GET', '/v1/credits');
    expect(ledger.body.balance).toBe(300);

    // The admin's own actions are in the stream too, as a platform admin's.
    await admin.getByRole('link', { name: "This tenant's live audit stream →" }).click();
    await admin.waitForURL(/\/admin\/audit\?tenantId=/);
    await auditEntries(admin)
      .getByRole('listitem')
      .filter({ hasText: 'admin.credits_adjusted' })
      .first()
      .waitFor();
    await eventually(() => auditEntries(admin).getByText('admin.tenant_updated').count(), 2);

    // The suspension may have signed the customer's browser out (its live connection was cut and the
    // session refused meanwhile); reactivated, they sign in again. They are no platform admin: no Admin
    // entry, and /admin shows a refusal and no data.
    await customer.goto(`${baseUrl}/dashboard`);
    const signIn = customer.getByRole('button', { name: 'Sign in' });
    await customer.getByRole('navigation', { name: 'Main' }).or(signIn).first().waitFor();
    if (await signIn.isVisible()) {
      await customer.getByLabel('Email').fill(`carl+${unique}@example.com`);
      await customer.getByLabel('Password').fill('correct horse battery staple');
      await signIn.click();
      await customer.waitForURL(`${baseUrl}/dashboard`);
    }
    expect(
      await customer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(),
    ).toBe(0);
    for (const path of ['/admin', '/admin/audit', '/admin/tenants/00000000-0000-4000-8000-000000000000']) {
      await customer.goto(`${baseUrl}${path}`);
      await customer.getByRole('heading', { name: 'Platform administrators only' }).waitFor();
      expect(await customer.getByRole('table').count()).toBe(0);
      expect(await customer.getByText(`Platform ${unique}`).count()).toBe(0);
    }
    const refused = await callApi(baseUrl, customerToken, 'GET', '/v1/admin/tenants');
    expect(refused.status).toBe(403);

    await admin.context().close();
    await customer.context().close();
  }, 180_000);
});

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { goToSection, signUpThroughTheApp, uniqueSuffix, useProduct } from './harness.ts';

/** The nested list that holds an organization's children in the tree. */
function suborganizationsOf(page: Page, organizationName: string) {
  return page.getByRole('list', { name: `Suborganizations of ${organizationName}` });
}

const running = useProduct();

describe('signing up and building an organization tree', () => {
  test('a new customer signs up, creates "Sales" under the root organization, and it persists', async () => {
    const { baseUrl, browser } = running();
    const page = await browser.newPage();
    const unique = uniqueSuffix();
    const rootOrganizationName = `Acme ${unique}`;

    await signUpThroughTheApp(page, baseUrl, {
      name: 'Ada Lovelace',
      email: `ada+${unique}@example.com`,
      organizationName: rootOrganizationName,
    });
    await goToSection(page, baseUrl, 'Organizations', '/organizations');

    const tree = page.getByRole('list', { name: 'Organization tree' });
    await tree.getByText(rootOrganizationName, { exact: true }).waitFor();
    await page.getByRole('banner').getByText(rootOrganizationName, { exact: true }).waitFor();

    const newOrganizationForm = page.getByRole('form', { name: 'New organization' });
    await newOrganizationForm.getByLabel('Organization name').fill('Sales');
    await newOrganizationForm.getByLabel('Parent organization').selectOption({ label: rootOrganizationName });
    await newOrganizationForm.getByRole('button', { name: 'Create organization' }).click();

    const sales = suborganizationsOf(page, rootOrganizationName).getByText('Sales', { exact: true });
    await sales.waitFor();
    expect(await sales.isVisible()).toBe(true);

    await page.reload();
    await suborganizationsOf(page, rootOrganizationName).getByText('Sales', { exact: true }).waitFor();
    expect(await tree.getByText('Sales', { exact: true }).count()).toBe(1);

    await page.close();
  }, 60_000);

  test('the API refuses an unauthenticated call with a 401 problem', async () => {
    const response = await fetch(`${running().baseUrl}/v1/organizations`);

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type') ?? '').toContain('application/problem+json');
  });
});

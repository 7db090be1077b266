import { describe, expect, test } from 'bun:test';
import { signUpThroughTheApp, uniqueSuffix, useProduct } from './harness.ts';

const running = useProduct();

describe('roles, API keys and branding', () => {
  test('an owner creates a custom role, a scoped API key that works until revoked, and a brand colour', async () => {
    const { baseUrl, browser } = running();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const unique = uniqueSuffix();
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Grace Hopper',
      email: `grace+${unique}@example.com`,
      organizationName: `Globex ${unique}`,
    });
    const mainNavigation = page.getByRole('navigation', { name: 'Main' });

    // A custom role, created with one permission, appears in the list and as an editable matrix column.
    await mainNavigation.getByRole('link', { name: 'Roles' }).click();
    await page.waitForURL(`${baseUrl}/roles`);
    const newRoleForm = page.getByRole('form', { name: 'New role' });
    await newRoleForm.getByLabel('Role name').fill('Auditor');
    await newRoleForm.getByRole('checkbox', { name: /^audit:read\b/ }).check();
    await newRoleForm.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('list', { name: 'Roles' }).getByText('Auditor', { exact: true }).waitFor();
    const auditorCanReadAudit = page.getByRole('checkbox', { name: 'Auditor: audit:read' });
    await auditorCanReadAudit.waitFor();
    expect(await auditorCanReadAudit.isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'Auditor: org:read' }).isChecked()).toBe(false);

    // An API key limited to org:read: its secret is shown once and works with exactly that scope.
    await mainNavigation.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(`${baseUrl}/api-keys`);
    const newKeyForm = page.getByRole('form', { name: 'New API key' });
    await newKeyForm.getByLabel('Key name').fill('CRM sync');
    await newKeyForm.getByRole('checkbox', { name: /^org:read\b/ }).check();
    await newKeyForm.getByRole('button', { name: 'Create API key' }).click();
    const secretBox = page.getByRole('region', { name: /Copy the key/ });
    await secretBox.waitFor();
    expect(await secretBox.getByText('you will not see it again').isVisible()).toBe(true);
    const secret = (await secretBox.locator('code').first().textContent())?.trim() ?? '';
    expect(secret.startsWith('wr_')).toBe(true);

    const withKey = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const listed = await fetch(`${baseUrl}/v1/organizations`, { headers: withKey });
    expect(listed.status).toBe(200);
    const created = await fetch(`${baseUrl}/v1/organizations`, {
      method: 'POST',
      headers: withKey,
      body: JSON.stringify({ name: 'Made with a read-only key' }),
    });
    expect(created.status).toBe(403);

    await secretBox.getByRole('button', { name: 'I have stored the key' }).click();
    await secretBox.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('table', { name: 'API keys' }).getByText('CRM sync', { exact: true }).waitFor();
    expect(await page.getByText(secret).count()).toBe(0);

    // Revoking it in the UI stops the key at once.
    await page.getByRole('button', { name: 'Revoke CRM sync' }).click();
    await page
      .getByRole('group', { name: 'Confirm revoking CRM sync' })
      .getByRole('button', { name: 'Revoke key' })
      .click();
    await page.getByText('No API keys yet').waitFor();
    const afterRevoke = await fetch(`${baseUrl}/v1/organizations`, { headers: withKey });
    expect(afterRevoke.status).toBe(401);

    // The brand colour re-colours the app, and stays after a reload.
    await mainNavigation.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${baseUrl}/settings`);
    await page.getByLabel('Brand colour', { exact: true }).fill('#0f766e');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Settings saved.').waitFor();
    await page.reload();
    const saveButton = page.getByRole('button', { name: 'Save changes' });
    await saveButton.waitFor();
    expect(await page.getByLabel('Brand colour', { exact: true }).inputValue()).toBe('#0f766e');
    expect(await saveButton.evaluate((button) => getComputedStyle(button).backgroundColor)).toBe(
      'rgb(15, 118, 110)',
    );

    await page.close();
  }, 90_000);
});

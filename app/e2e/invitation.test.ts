import { describe, expect, test } from 'bun:test';
import { goToSection, invitationTokenFor, signUpThroughTheApp, uniqueSuffix, useProduct } from './harness.ts';

const running = useProduct();

describe('inviting a colleague and changing their role live', () => {
  test('an invited admin joins, creates an organization, and loses org:write without signing in again', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const rootOrganizationName = `Initech ${unique}`;
    const inviteeEmail = `bob+${unique}@example.com`;
    const inviteeName = 'Bob Porter';

    // Context A: the owner signs up and invites Bob as an admin.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const owner = await ownerContext.newPage();
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Peter Gibbons',
      email: `peter+${unique}@example.com`,
      organizationName: rootOrganizationName,
    });
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    await owner.waitForURL(`${baseUrl}/members`);
    const inviteForm = owner.getByRole('form', { name: 'Invite people' });
    await inviteForm.getByLabel('Email address').fill(inviteeEmail);
    await inviteForm.getByLabel('Role', { exact: true }).selectOption({ label: 'Admin' });
    await inviteForm.getByRole('button', { name: 'Send invitation' }).click();
    await inviteForm.getByText(`Invitation sent to ${inviteeEmail}.`).waitFor();
    await owner
      .getByRole('list', { name: 'Pending invitations' })
      .getByText(inviteeEmail, { exact: true })
      .waitFor();

    // The link arrives in the dev mailbox.
    const token = await invitationTokenFor(baseUrl, inviteeEmail);
    expect(token.startsWith('inv_')).toBe(true);

    // Context B: Bob opens the link, is new to Wrapper, and lands in the workspace.
    const inviteeContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Live updates would take Bob's form away as soon as his role changes (live-updates.test.ts shows that).
    // Here they cannot connect, as behind a proxy that drops WebSockets: the server's refusal tells the tab.
    await inviteeContext.routeWebSocket(/\/socket\.io\//, (socket) => socket.close());
    const invitee = await inviteeContext.newPage();
    await invitee.goto(`${baseUrl}/invitations/accept?token=${encodeURIComponent(token)}`);
    await invitee.getByRole('tab', { name: /I.m new/ }).click();
    await invitee.getByLabel('Your name').fill(inviteeName);
    await invitee.getByLabel('Choose a password').fill('correct horse battery staple');
    await invitee.getByRole('button', { name: 'Create account and join' }).click();
    await invitee.waitForURL(`${baseUrl}/dashboard`);
    await goToSection(invitee, baseUrl, 'Organizations', '/organizations');
    expect(await invitee.getByRole('status', { name: 'Live updates: connected' }).count()).toBe(0);

    // As an admin Bob has org:write: the form is there and creating works.
    const tree = invitee.getByRole('list', { name: 'Organization tree' });
    await tree.getByText(rootOrganizationName, { exact: true }).waitFor();
    const newOrganizationForm = invitee.getByRole('form', { name: 'New organization' });
    await newOrganizationForm.getByLabel('Organization name').fill('Marketing');
    await newOrganizationForm.getByRole('button', { name: 'Create organization' }).click();
    await newOrganizationForm.getByText('Marketing was created.').waitFor();
    await tree.getByText('Marketing', { exact: true }).waitFor();

    // Context A: the owner makes Bob a viewer.
    await owner.reload();
    await owner.getByRole('button', { name: `Change roles of ${inviteeName}` }).click();
    const rolesForm = owner.getByRole('form', { name: `Roles of ${inviteeName}` });
    await rolesForm.getByRole('checkbox', { name: /^Admin\b/ }).uncheck();
    await rolesForm.getByRole('checkbox', { name: /^Viewer\b/ }).check();
    await rolesForm.getByRole('button', { name: 'Save roles' }).click();
    await rolesForm.waitFor({ state: 'detached' });
    const bobRow = owner.getByRole('row').filter({ hasText: inviteeEmail });
    await bobRow.getByText('Viewer', { exact: true }).waitFor();
    expect(await bobRow.getByText('Admin', { exact: true }).count()).toBe(0);

    // Context B, same tab, no reload or new sign-in: the next creation is refused and shown inline, and the
    // refreshed identity takes the form away.
    expect(await newOrganizationForm.isVisible()).toBe(true);
    await newOrganizationForm.getByLabel('Organization name').fill('Finance');
    await newOrganizationForm.getByRole('button', { name: 'Create organization' }).click();
    await newOrganizationForm.waitFor({ state: 'detached' });
    const refusal = invitee.getByRole('region', { name: 'Organization not created' });
    await refusal.getByRole('alert').getByText('Not allowed').waitFor();
    expect(invitee.url()).toBe(`${baseUrl}/organizations`);

    // Reading still works in that tab: the tree is shown, with what Bob created before, and not "Finance".
    expect(await tree.getByText(rootOrganizationName, { exact: true }).isVisible()).toBe(true);
    expect(await tree.getByText('Marketing', { exact: true }).isVisible()).toBe(true);
    expect(await tree.getByText('Finance', { exact: true }).count()).toBe(0);

    // The server agrees: Bob's identity no longer carries org:write.
    const accessToken = await invitee.evaluate(() => localStorage.getItem('wrapper.accessToken'));
    const me = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    const identity = (await me.json()) as { permissions: string[] };
    expect(identity.permissions).toContain('org:read');
    expect(identity.permissions).not.toContain('org:write');

    await inviteeContext.close();
    await ownerContext.close();
  }, 90_000);
});

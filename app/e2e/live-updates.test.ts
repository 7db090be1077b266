import { describe, expect, test } from 'bun:test';
import type { Browser, Page } from 'playwright-core';
import {
  goToSection,
  inviteThroughTheApp,
  joinAsNewPerson,
  liveUpdatesConnected,
  markPage,
  signUpThroughTheApp,
  stillTheSamePage,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// Two people in one workspace, each in their own browser context: what one does shows up on the other's
// open page through the realtime connection, without a reload.

const running = useProduct();

interface Workspace {
  owner: Page;
  member: Page;
  memberName: string;
  memberEmail: string;
  workspaceName: string;
  unique: string;
  close(): Promise<void>;
}

/** An owner who signs up and invites a colleague with `role`; the colleague joins in another context. */
async function workspaceWithTwoPeople(browser: Browser, baseUrl: string, role: string): Promise<Workspace> {
  const unique = uniqueSuffix();
  const workspaceName = `Initech ${unique}`;
  const memberName = 'Bob Porter';
  const memberEmail = `bob+${unique}@example.com`;
  const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const memberContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const owner = await ownerContext.newPage();
  await signUpThroughTheApp(owner, baseUrl, {
    name: 'Peter Gibbons',
    email: `peter+${unique}@example.com`,
    organizationName: workspaceName,
  });
  await inviteThroughTheApp(owner, baseUrl, { email: memberEmail, role });
  const member = await memberContext.newPage();
  await joinAsNewPerson(member, baseUrl, { email: memberEmail, name: memberName });
  return {
    owner,
    member,
    memberName,
    memberEmail,
    workspaceName,
    unique,
    async close() {
      await memberContext.close();
      await ownerContext.close();
    },
  };
}

describe('live updates', () => {
  test('organizations, the workspace name and a demotion reach the other person’s open page', async () => {
    const { baseUrl, browser } = running();
    const workspace = await workspaceWithTwoPeople(browser, baseUrl, 'Admin');
    const { owner, member: admin, memberName } = workspace;

    // Both on the organizations page; the admin may create organizations.
    await goToSection(owner, baseUrl, 'Organizations', '/organizations');
    await goToSection(admin, baseUrl, 'Organizations', '/organizations');
    await liveUpdatesConnected(owner);
    await liveUpdatesConnected(admin);
    const adminTree = admin.getByRole('list', { name: 'Organization tree' });
    await adminTree.getByText(workspace.workspaceName, { exact: true }).waitFor();
    const adminCreateForm = admin.getByRole('form', { name: 'New organization' });
    await adminCreateForm.waitFor();
    await markPage(admin);

    // The owner creates an organization: it appears in the admin's tree.
    const ownerCreateForm = owner.getByRole('form', { name: 'New organization' });
    await ownerCreateForm.getByLabel('Organization name').fill('Research');
    await ownerCreateForm.getByRole('button', { name: 'Create organization' }).click();
    await ownerCreateForm.getByText('Research was created.').waitFor();
    await adminTree.getByText('Research', { exact: true }).waitFor();
    expect(await admin.getByText('2 organizations').isVisible()).toBe(true);

    // The owner renames it: the admin's tree follows.
    await owner.getByRole('button', { name: 'Edit Research' }).click();
    const editForm = owner.getByRole('form', { name: 'Edit Research' });
    await editForm.getByLabel('Name').fill('R&D');
    await editForm.getByRole('button', { name: 'Save changes' }).click();
    await editForm.waitFor({ state: 'detached' });
    await adminTree.getByText('R&D', { exact: true }).waitFor();
    expect(await adminTree.getByText('Research', { exact: true }).count()).toBe(0);

    // The owner deletes it: it disappears.
    await owner.getByRole('button', { name: 'Delete R&D' }).click();
    await owner
      .getByRole('group', { name: 'Confirm deleting R&D' })
      .getByRole('button', { name: 'Delete organization' })
      .click();
    await adminTree.getByText('R&D', { exact: true }).waitFor({ state: 'detached' });

    // The owner renames the workspace: the admin's header shows the new name.
    const renamed = `Initrode ${workspace.unique}`;
    await goToSection(owner, baseUrl, 'Settings', '/settings');
    await owner.getByLabel('Workspace name').fill(renamed);
    await owner.getByRole('button', { name: 'Save changes' }).click();
    await owner.getByText('Settings saved.').waitFor();
    const adminHeader = admin.getByRole('banner');
    await adminHeader.getByText(renamed, { exact: true }).waitFor();
    expect(await adminHeader.getByRole('link', { name: `${renamed} home` }).isVisible()).toBe(true);
    expect(await adminHeader.getByText(workspace.workspaceName, { exact: true }).count()).toBe(0);

    // The owner makes the admin a viewer while the admin looks at the organizations page: the form to
    // create organizations (and the edit actions) go away, with no reload and no navigation.
    await goToSection(owner, baseUrl, 'Members', '/members');
    await owner.getByRole('button', { name: `Change roles of ${memberName}` }).click();
    const rolesForm = owner.getByRole('form', { name: `Roles of ${memberName}` });
    await rolesForm.getByRole('checkbox', { name: /^Admin\b/ }).uncheck();
    await rolesForm.getByRole('checkbox', { name: /^Viewer\b/ }).check();
    await rolesForm.getByRole('button', { name: 'Save roles' }).click();
    await rolesForm.waitFor({ state: 'detached' });
    await adminCreateForm.waitFor({ state: 'detached' });
    expect(await admin.getByRole('button', { name: `Edit ${workspace.workspaceName}` }).count()).toBe(0);
    expect(await adminTree.getByText(workspace.workspaceName, { exact: true }).isVisible()).toBe(true);
    expect(admin.url()).toBe(`${baseUrl}/organizations`);
    expect(await stillTheSamePage(admin)).toBe(true);
    // Still a member (a viewer reads organizations): live updates go on.
    await liveUpdatesConnected(admin);

    await workspace.close();
  }, 120_000);

  test('invitations and a colleague joining appear on another person’s members page', async () => {
    const { baseUrl, browser } = running();
    const workspace = await workspaceWithTwoPeople(browser, baseUrl, 'Admin');
    const { owner, member: admin } = workspace;

    await goToSection(admin, baseUrl, 'Members', '/members');
    await liveUpdatesConnected(admin);
    const adminPending = admin.getByRole('list', { name: 'Pending invitations' });
    await admin.getByText('No pending invitations.').waitFor();
    await markPage(admin);

    // The owner invites two people: both appear in the admin's pending list.
    const carolEmail = `carol+${workspace.unique}@example.com`;
    const danEmail = `dan+${workspace.unique}@example.com`;
    await inviteThroughTheApp(owner, baseUrl, { email: carolEmail, role: 'Viewer' });
    await inviteThroughTheApp(owner, baseUrl, { email: danEmail, role: 'Member' });
    await adminPending.getByText(carolEmail, { exact: true }).waitFor();
    await adminPending.getByText(danEmail, { exact: true }).waitFor();

    // The owner withdraws Dan's: it leaves the admin's list.
    await owner.getByRole('button', { name: `Withdraw invitation to ${danEmail}` }).click();
    await adminPending.getByText(danEmail, { exact: true }).waitFor({ state: 'detached' });

    // Carol joins: she is listed among the people, as a viewer, and no longer pending.
    const carolContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const carol = await carolContext.newPage();
    await joinAsNewPerson(carol, baseUrl, { email: carolEmail, name: 'Carol Jones' });
    const carolRow = admin.getByRole('row').filter({ hasText: carolEmail });
    await carolRow.getByText('Viewer', { exact: true }).waitFor();
    await admin.getByText('No pending invitations.').waitFor();
    expect(await stillTheSamePage(admin)).toBe(true);

    await carolContext.close();
    await workspace.close();
  }, 120_000);

  test('a member removed while looking at a page is sent to sign in', async () => {
    const { baseUrl, browser } = running();
    const workspace = await workspaceWithTwoPeople(browser, baseUrl, 'Member');
    const { owner, member, memberName } = workspace;
    await goToSection(member, baseUrl, 'Organizations', '/organizations');
    await liveUpdatesConnected(member);
    await member.getByRole('list', { name: 'Organization tree' }).waitFor();

    await goToSection(owner, baseUrl, 'Members', '/members');
    await owner.getByRole('button', { name: `Remove ${memberName}` }).click();
    await owner
      .getByRole('group', { name: `Confirm removing ${memberName}` })
      .getByRole('button', { name: 'Remove member' })
      .click();
    await owner.getByRole('row').filter({ hasText: workspace.memberEmail }).waitFor({ state: 'detached' });

    // No click, no reload: the membership ended, so the session did, as on any refused request.
    await member.waitForURL(`${baseUrl}/login?returnTo=%2Forganizations`);
    await member.getByRole('form', { name: 'Sign in' }).waitFor();
    expect(await member.evaluate(() => localStorage.getItem('wrapper.accessToken'))).toBeNull();

    await workspace.close();
  }, 120_000);
});

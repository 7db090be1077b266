import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import type { CurrentIdentity } from '../src/lib/api.ts';
import {
  goToSection,
  invitationTokenFor,
  mailedLinkTo,
  signUpThroughTheApp,
  uniqueSuffix,
  useProduct,
} from './harness.ts';

// The pages people reach from a mailed link: confirming an email address, resetting a forgotten
// password, and joining a workspace while already signed in. The mail is read from the dev mailbox.

/** The password `signUpThroughTheApp` chooses. */
const signUpPassword = 'correct horse battery staple';

// Sign-ups, sign-ins, refreshes and emailed-link calls are limited per client address, and every call here
// comes from one: this file makes about as many in a minute as the default allows (20), so the limit is
// raised to keep the tests about the pages.
const running = useProduct({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '200' } });

/** What the server says about the person signed in in this page. */
async function currentIdentity(page: Page, baseUrl: string) {
  const accessToken = await page.evaluate(() => localStorage.getItem('wrapper.accessToken'));
  expect(accessToken).not.toBeNull();
  const response = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as CurrentIdentity;
}

/** The addresses the dev mailbox has sent anything to. */
async function mailedAddresses(baseUrl: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/v1/dev/mailbox?limit=100`);
  const { items } = (await response.json()) as { items: Array<{ to: string }> };
  return items.map((item) => item.to);
}

/** Signs in through the login form (on `/login` already). */
async function submitSignIn(page: Page, email: string, password: string) {
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

describe('links sent by email', () => {
  test('a new person sees their address unconfirmed, confirms it from the mailed link once, and the link then stops working', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const email = `ada+${unique}@example.com`;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Ada Lovelace',
      email,
      organizationName: `Analytical ${unique}`,
    });

    // The app says the address is not confirmed yet, and so does the server.
    const banner = page.getByRole('region', { name: 'Confirm your email' });
    await banner.getByText(`Confirm your email address: we sent a link to ${email}.`).waitFor();
    expect((await currentIdentity(page, baseUrl)).user.emailVerified).toBe(false);

    // The link from the mail confirms it.
    const link = await mailedLinkTo(baseUrl, email, '/verify-email');
    await page.goto(`${baseUrl}${link}`);
    await page.getByRole('status').getByText('Your email address is confirmed').waitFor();
    expect((await currentIdentity(page, baseUrl)).user.emailVerified).toBe(true);

    // Back in the app, the banner is gone.
    await page.getByRole('link', { name: 'Go to your workspace' }).click();
    await page.waitForURL(`${baseUrl}/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    expect(await banner.count()).toBe(0);

    // The link works once.
    await page.goto(`${baseUrl}${link}`);
    const refusal = page.getByRole('alert');
    await refusal.getByText('This confirmation link does not work').waitFor();
    await refusal.getByText('It may have been used already, be incomplete or have expired.').waitFor();
    expect((await currentIdentity(page, baseUrl)).user.emailVerified).toBe(true);

    await context.close();
  }, 60_000);

  test('asking for the link again from the banner mails a new one, and the earlier link stops working', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const email = `charles+${unique}@example.com`;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await signUpThroughTheApp(page, baseUrl, {
      name: 'Charles Babbage',
      email,
      organizationName: `Difference ${unique}`,
    });
    const firstLink = await mailedLinkTo(baseUrl, email, '/verify-email');

    const banner = page.getByRole('region', { name: 'Confirm your email' });
    await banner.getByRole('button', { name: 'Send the link again' }).click();
    await banner.getByText('A new link is on its way.').waitFor();
    const secondLink = await mailedLinkTo(baseUrl, email, '/verify-email');
    expect(secondLink).not.toBe(firstLink);

    await page.goto(`${baseUrl}${firstLink}`);
    await page.getByRole('alert').getByText('This confirmation link does not work').waitFor();
    expect((await currentIdentity(page, baseUrl)).user.emailVerified).toBe(false);

    await page.goto(`${baseUrl}${secondLink}`);
    await page.getByRole('status').getByText('Your email address is confirmed').waitFor();
    expect((await currentIdentity(page, baseUrl)).user.emailVerified).toBe(true);

    await context.close();
  }, 60_000);

  test('a person who forgot their password resets it from the mailed link; the old password and a second use of the link are refused', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const email = `grace+${unique}@example.com`;
    const unknownEmail = `nobody+${unique}@example.com`;
    const newPassword = 'a brand new passphrase';

    // The account exists: signed up on another device.
    const signUpContext = await browser.newContext();
    const signUpPage = await signUpContext.newPage();
    await signUpThroughTheApp(signUpPage, baseUrl, {
      name: 'Grace Hopper',
      email,
      organizationName: `Cobol ${unique}`,
    });
    const otherDeviceRefreshToken = await signUpPage.evaluate(() =>
      localStorage.getItem('wrapper.refreshToken'),
    );
    expect(otherDeviceRefreshToken).not.toBeNull();
    await signUpContext.close();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${baseUrl}/forgot-password`);

    /** Asks for a reset link for `address`; returns what the page says then. */
    async function askForResetLink(address: string): Promise<string> {
      const form = page.getByRole('form', { name: 'Forgot password' });
      await form.getByLabel('Email').fill(address);
      await form.getByRole('button', { name: 'Send reset link' }).click();
      const answer = page.getByRole('status').filter({ hasText: 'Check your email' });
      await answer.waitFor();
      expect(await form.count()).toBe(0);
      return ((await answer.textContent()) ?? '').replaceAll(address, '<address>');
    }

    // An address without an account gets the very same answer, and no mail.
    const answerForUnknown = await askForResetLink(unknownEmail);
    expect(answerForUnknown).toContain(
      'If an account exists for <address>, we sent a link to reset its password. The link works once.',
    );

    await page.goto(`${baseUrl}/forgot-password`);
    const answerForKnown = await askForResetLink(email);
    expect(answerForKnown).toBe(answerForUnknown);
    const link = await mailedLinkTo(baseUrl, email, '/reset-password');
    expect(await mailedAddresses(baseUrl)).not.toContain(unknownEmail);

    // The mailed link sets a new password.
    await page.goto(`${baseUrl}${link}`);
    const newPasswordForm = page.getByRole('form', { name: 'New password' });
    await newPasswordForm.getByLabel('New password').fill(newPassword);
    await newPasswordForm.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('status').getByText('Your password is changed').waitFor();
    await page.getByText('Every device was signed out.').waitFor();
    const refresh = await fetch(`${baseUrl}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: otherDeviceRefreshToken }),
    });
    expect(refresh.status).toBe(401);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/login`);

    // The old password is refused, the new one signs in.
    await submitSignIn(page, email, signUpPassword);
    await page
      .getByRole('form', { name: 'Sign in' })
      .getByRole('alert')
      .getByText('Invalid email or password')
      .waitFor();
    expect(page.url()).toBe(`${baseUrl}/login`);
    expect(await page.evaluate(() => localStorage.getItem('wrapper.accessToken'))).toBeNull();

    await submitSignIn(page, email, newPassword);
    await page.waitForURL(`${baseUrl}/dashboard`);
    await page.getByRole('banner').getByText(`Cobol ${unique}`, { exact: true }).waitFor();
    expect((await currentIdentity(page, baseUrl)).user.email).toBe(email);

    // The link works once.
    await page.goto(`${baseUrl}${link}`);
    const secondForm = page.getByRole('form', { name: 'New password' });
    await secondForm.getByLabel('New password').fill('yet another passphrase');
    await secondForm.getByRole('button', { name: 'Set new password' }).click();
    const refusal = secondForm.getByRole('alert');
    await refusal.getByText('This reset link does not work').waitFor();
    await refusal.getByText('It may have been used already or have expired.').waitFor();
    await refusal.getByRole('link', { name: 'Ask for a new link' }).waitFor();
    // Refused: still signed in (a reset ends every session), and the password is still the new one.
    expect((await currentIdentity(page, baseUrl)).user.email).toBe(email);
    const signIn = await fetch(`${baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: newPassword }),
    });
    expect(signIn.status).toBe(200);

    await context.close();
  }, 60_000);

  test('a signed-in person invited to another workspace joins it with one click and lands in it', async () => {
    const { baseUrl, browser } = running();
    const unique = uniqueSuffix();
    const invitingWorkspace = `Initech ${unique}`;
    const ownWorkspace = `Chotchkies ${unique}`;
    const inviteeEmail = `joanna+${unique}@example.com`;

    // Context B: the invitee already has an account and a workspace of their own, and is signed in.
    const inviteeContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const invitee = await inviteeContext.newPage();
    await signUpThroughTheApp(invitee, baseUrl, {
      name: 'Joanna',
      email: inviteeEmail,
      organizationName: ownWorkspace,
    });

    // Context A: the owner invites that address from the Members page.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const owner = await ownerContext.newPage();
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Bill Lumbergh',
      email: `bill+${unique}@example.com`,
      organizationName: invitingWorkspace,
    });
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    await owner.waitForURL(`${baseUrl}/members`);
    const inviteForm = owner.getByRole('form', { name: 'Invite people' });
    await inviteForm.getByLabel('Email address').fill(inviteeEmail);
    await inviteForm.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
    await inviteForm.getByRole('button', { name: 'Send invitation' }).click();
    await inviteForm.getByText(`Invitation sent to ${inviteeEmail}.`).waitFor();
    const token = await invitationTokenFor(baseUrl, inviteeEmail);

    // Context B: the link knows who is signed in and asks for no password.
    await invitee.goto(`${baseUrl}/invitations/accept?token=${encodeURIComponent(token)}`);
    await invitee.getByText(`You are signed in as ${inviteeEmail}.`).waitFor();
    expect(await invitee.getByLabel(/password/i).count()).toBe(0);
    await invitee.getByRole('button', { name: `Join ${invitingWorkspace}`, exact: true }).click();

    // They land in the inviting workspace, and can switch back to their own.
    await invitee.waitForURL(`${baseUrl}/dashboard`);
    await goToSection(invitee, baseUrl, 'Organizations', '/organizations');
    const switcher = invitee
      .getByRole('banner')
      .getByRole('button', { name: `Switch workspace, current: ${invitingWorkspace}` });
    await switcher.waitFor();
    await invitee
      .getByRole('list', { name: 'Organization tree' })
      .getByText(invitingWorkspace, { exact: true })
      .waitFor();
    await switcher.click();
    const workspaces = invitee.getByRole('menu', { name: `Switch workspace, current: ${invitingWorkspace}` });
    await workspaces.getByRole('menuitem', { name: ownWorkspace }).waitFor();
    const current = workspaces.getByRole('menuitem', { name: invitingWorkspace });
    expect(await current.getAttribute('aria-current')).toBe('true');

    const identity = await currentIdentity(invitee, baseUrl);
    expect(identity.tenant.name).toBe(invitingWorkspace);
    expect(identity.memberships.map((membership) => membership.tenantName).sort()).toEqual(
      [invitingWorkspace, ownWorkspace].sort(),
    );

    // Context A: the invitee is a member now.
    await owner.reload();
    await owner
      .getByRole('row')
      .filter({ hasText: inviteeEmail })
      .getByText('Member', { exact: true })
      .waitFor();

    await ownerContext.close();
    await inviteeContext.close();
  }, 60_000);
});

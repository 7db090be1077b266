import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { startIdentityProvider } from '../../server/testing/oidc-provider.ts';
import { freePort } from '../../server/testing/server-process.ts';
import type { CurrentIdentity } from '../src/lib/api.ts';
import { invitationTokenFor, productUrl, signUpThroughTheApp, uniqueSuffix, useProduct } from './harness.ts';

// Signing in with OpenID Connect, end to end: a real provider (`oidc-provider`) on loopback, the real server
// configured for it, and Chromium going from the app to the provider and back.

const running = useProduct(async (onStop) => {
  // The provider must know the app's callback, and the server its own public URL: the port comes first.
  const port = freePort();
  const idp = await startIdentityProvider({
    redirectUris: [`${productUrl(port)}/v1/auth/oidc/idp/callback`],
  });
  onStop(() => idp.close());
  return {
    options: {
      port,
      env: {
        APP_URL: productUrl(port),
        OIDC_PROVIDERS: 'idp',
        OIDC_IDP_ISSUER: idp.issuer,
        OIDC_IDP_CLIENT_ID: idp.clientId,
        OIDC_IDP_CLIENT_SECRET: idp.clientSecret,
        OIDC_IDP_NAME: 'Test IdP',
      },
    },
    extra: { idp },
  };
});

/** On the provider's login page: signs in as `sub`. */
async function signInAtProvider(page: Page, sub: string) {
  await page.getByLabel('Account').fill(sub);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** What the server says about the person signed in in this page. */
async function currentIdentity(page: Page, baseUrl: string) {
  const accessToken = await page.evaluate(() => localStorage.getItem('wrapper.accessToken'));
  const response = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as CurrentIdentity;
}

describe('signing in with an OpenID Connect provider', () => {
  test('a new person continues with the provider from the sign-in page and lands where they were going, in a workspace of their own', async () => {
    const { baseUrl, browser, idp } = running();
    const unique = uniqueSuffix();
    const account = { sub: `grace-${unique}`, email: `grace+${unique}@example.com`, name: 'Grace Hopper' };
    idp.addAccount({ ...account, email_verified: true });

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/members`);
    await page.waitForURL(`${baseUrl}/login?returnTo=%2Fmembers`);
    await page.getByRole('link', { name: 'Continue with Test IdP', exact: true }).click();

    await signInAtProvider(page, account.sub);

    // Back in the app, signed in, on the page asked for at first; the code is gone from the address bar.
    await page.waitForURL(`${baseUrl}/members`);
    await page.getByRole('banner').getByText("Grace's workspace", { exact: true }).waitFor();
    expect(page.url()).toBe(`${baseUrl}/members`);

    // The session is stored like a password sign-in's: it survives a reload.
    await page.reload();
    await page.getByRole('banner').getByText("Grace's workspace", { exact: true }).waitFor();
    const identity = await currentIdentity(page, baseUrl);
    expect(identity.user.email).toBe(account.email);
    expect(identity.user.name).toBe(account.name);
    expect(identity.user.emailVerified).toBe(true);
    expect(identity.tenant.name).toBe("Grace's workspace");
    expect(identity.memberships.map((membership) => membership.role)).toEqual(['owner']);

    await context.close();
  }, 60_000);

  test('an invited person accepts the invitation through the provider and lands in the inviting workspace', async () => {
    const { baseUrl, browser, idp } = running();
    const unique = uniqueSuffix();
    const workspaceName = `Hooli ${unique}`;
    const invitee = { sub: `bob-${unique}`, email: `bob+${unique}@example.com`, name: 'Bob Porter' };
    idp.addAccount({ ...invitee, email_verified: true });

    // Context A: the owner signs up and invites Bob as a member.
    const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const owner = await ownerContext.newPage();
    await signUpThroughTheApp(owner, baseUrl, {
      name: 'Gavin Belson',
      email: `gavin+${unique}@example.com`,
      organizationName: workspaceName,
    });
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    await owner.waitForURL(`${baseUrl}/members`);
    const inviteForm = owner.getByRole('form', { name: 'Invite people' });
    await inviteForm.getByLabel('Email address').fill(invitee.email);
    await inviteForm.getByLabel('Role', { exact: true }).selectOption({ label: 'Member' });
    await inviteForm.getByRole('button', { name: 'Send invitation' }).click();
    await inviteForm.getByText(`Invitation sent to ${invitee.email}.`).waitFor();
    const token = await invitationTokenFor(baseUrl, invitee.email);

    // Context B: Bob opens the link and continues with the provider instead of choosing a password.
    const inviteeContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await inviteeContext.newPage();
    await page.goto(`${baseUrl}/invitations/accept?token=${encodeURIComponent(token)}`);
    await page.getByText(workspaceName, { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Continue with Test IdP', exact: true }).click();

    await signInAtProvider(page, invitee.sub);

    await page.waitForURL(`${baseUrl}/dashboard`);
    await page.getByRole('banner').getByText(workspaceName, { exact: true }).waitFor();
    const identity = await currentIdentity(page, baseUrl);
    expect(identity.user.email).toBe(invitee.email);
    expect(identity.tenant.name).toBe(workspaceName);
    // Joining by invitation: no workspace of his own.
    expect(identity.memberships).toHaveLength(1);
    expect(identity.memberships[0]?.role).toBe('member');

    // Context A: Bob is a member now, no longer a pending invitation.
    await owner.reload();
    await owner
      .getByRole('row')
      .filter({ hasText: invitee.email })
      .getByText('Member', { exact: true })
      .waitFor();

    await inviteeContext.close();
    await ownerContext.close();
  }, 60_000);

  test('an email the provider has not verified is refused with a clear problem and a way back to sign in', async () => {
    const { baseUrl, browser, idp } = running();
    const unique = uniqueSuffix();
    const account = { sub: `mallory-${unique}`, email: `mallory+${unique}@example.com`, name: 'Mallory' };
    idp.addAccount({ ...account, email_verified: false });

    const context = await browser.newContext();
    const page = await context.newPage();
    // The sign-up page offers the provider too.
    await page.goto(`${baseUrl}/signup`);
    await page.getByRole('link', { name: 'Continue with Test IdP', exact: true }).click();
    await signInAtProvider(page, account.sub);

    const problem = page.getByRole('alert');
    await problem.getByText('The provider has not verified your email address').waitFor();
    await problem.getByText('Confirm your email address with the provider first').waitFor();
    expect(page.url()).toBe(`${baseUrl}/auth/oidc`);
    expect(await page.evaluate(() => localStorage.getItem('wrapper.accessToken'))).toBeNull();

    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await page.waitForURL(`${baseUrl}/login`);
    await page.getByRole('form', { name: 'Sign in' }).waitFor();

    await context.close();
  }, 60_000);

  test('a spent or made-up sign-in code says the link expired and offers to sign in again', async () => {
    const { baseUrl, browser } = running();
    const context = await browser.newContext();
    const page = await context.newPage();

    await page.goto(`${baseUrl}/auth/oidc#code=si_not-a-real-code&returnTo=%2Fsettings`);
    await page.getByRole('alert').getByText('This sign-in link has expired').waitFor();
    expect(page.url()).toBe(`${baseUrl}/auth/oidc`);
    expect(await page.evaluate(() => localStorage.getItem('wrapper.accessToken'))).toBeNull();

    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.waitForURL(`${baseUrl}/login?returnTo=%2Fsettings`);

    await context.close();
  }, 60_000);
});

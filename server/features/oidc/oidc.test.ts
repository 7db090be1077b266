import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { AppError } from '../../errors.ts';
import { createLogger } from '../../logger.ts';
import { startTestApp, TEST_APP_URL, type TestApp, uniqueEmail } from '../../testing/harness.ts';
import {
  type IdpAccount,
  startIdentityProvider,
  type TestIdentityProvider,
} from '../../testing/oidc-provider.ts';
import { freePort } from '../../testing/server-process.ts';
import { builtInRoles } from '../access/permissions.ts';
import { createOidcSignIn } from './flow.ts';

const CALLBACK = `${TEST_APP_URL}/v1/auth/oidc/idp/callback`;
let idp: TestIdentityProvider;
let app: TestApp;

beforeAll(async () => {
  idp = await startIdentityProvider({ redirectUris: [CALLBACK] });
  app = await startTestApp({
    oidcProviders: [
      {
        id: 'idp',
        name: 'Test IdP',
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        scopes: 'openid email profile',
      },
    ],
  });
});
afterAll(async () => {
  await app.dispose();
  await idp.close();
});

/**
 * A browser: keeps cookies per host and follows redirects one by one, sending requests for the app's
 * origin to the app and everything else over HTTP to the identity provider.
 */
class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async send(url: string, init: { method?: string; form?: Record<string, string>; accept?: string } = {}) {
    const target = new URL(url);
    const cookies = this.jar.get(target.host) ?? new Map<string, string>();
    const headers: Record<string, string> = { accept: init.accept ?? 'text/html' };
    if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const request = { method: init.method ?? 'GET', headers, body, redirect: 'manual' as const };
    const response =
      target.origin === TEST_APP_URL
        ? await app.handle(new Request(url, request))
        : await fetch(url, request);
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute));
      if (expired) cookies.delete(name);
      else cookies.set(name, pair.slice(index + 1).trim());
    }
    this.jar.set(target.host, cookies);
    return response;
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  setCookie(host: string, name: string, value: string) {
    const cookies = this.jar.get(host) ?? new Map<string, string>();
    cookies.set(name, value);
    this.jar.set(host, cookies);
  }
}

const location = (response: Response, base: string) => {
  const value = response.headers.get('location');
  if (!value) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(value, base).href;
};

/** Starts a sign-in; answers the provider's authorization URL. */
async function start(browser: Browser, query = '') {
  const response = await browser.send(`${TEST_APP_URL}/v1/auth/oidc/idp/start${query}`);
  expect(response.status).toBe(302);
  return location(response, TEST_APP_URL);
}

/** Signs in at the provider as `sub`; answers the callback URL the provider sends the browser to. */
async function authorizeAt(browser: Browser, authorizationUrl: string, sub: string) {
  let response = await browser.send(authorizationUrl);
  const interaction = location(response, idp.issuer);
  response = await browser.send(interaction);
  const html = await response.text();
  const action = /action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form: ${html}`);
  response = await browser.send(new URL(action, idp.issuer).href, { method: 'POST', form: { sub } });
  let next = location(response, idp.issuer);
  while (!next.startsWith(TEST_APP_URL)) {
    response = await browser.send(next);
    next = location(response, idp.issuer);
  }
  return next;
}

/** Follows the callback; answers the fragment of the app page it lands on. */
async function callback(browser: Browser, url: string) {
  const response = await browser.send(url);
  expect(response.status).toBe(303);
  const landed = new URL(location(response, TEST_APP_URL));
  expect(landed.origin + landed.pathname).toBe(`${TEST_APP_URL}/auth/oidc`);
  return new URLSearchParams(landed.hash.slice(1));
}

async function signInThroughProvider(account: IdpAccount, query = '') {
  idp.addAccount(account);
  const browser = new Browser();
  const authorizationUrl = await start(browser, query);
  const fragment = await callback(browser, await authorizeAt(browser, authorizationUrl, account.sub));
  return { browser, fragment };
}

const exchange = (code: string | null, tenantId?: string | null) =>
  app.request('POST', '/v1/auth/oidc/exchange', { body: { code, ...(tenantId ? { tenantId } : {}) } });

async function countUsers(email: string) {
  const rows = await app.database.owner.execute(
    sql`select count(*)::int as n from users where lower(email) = ${email}`,
  );
  return Number(
    (rows as unknown as { rows?: Array<{ n: number }> }).rows?.[0]?.n ??
      (rows as unknown as Array<{ n: number }>)[0]?.n,
  );
}

const person = (label: string, extra: Partial<IdpAccount> = {}): IdpAccount => ({
  sub: `${label}-${crypto.randomUUID()}`,
  email: uniqueEmail(label),
  email_verified: true,
  name: 'Grace Hopper',
  ...extra,
});

describe('OpenID Connect sign-in', () => {
  test('lists the configured providers for the sign-in page', async () => {
    const response = await app.request('GET', '/v1/auth/oidc/providers');
    expect(response.body).toEqual({ items: [{ id: 'idp', name: 'Test IdP' }] });
  });

  test('start redirects with PKCE (S256), state and nonce, and binds them to the browser in an HttpOnly cookie', async () => {
    const browser = new Browser();
    const response = await browser.send(`${TEST_APP_URL}/v1/auth/oidc/idp/start?returnTo=/members`);
    expect(response.status).toBe(302);
    const url = new URL(location(response, TEST_APP_URL));
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get('client_id')).toBe(idp.clientId);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')?.length).toBeGreaterThan(40);
    expect(url.searchParams.get('state')?.length).toBeGreaterThan(20);
    expect(url.searchParams.get('nonce')?.length).toBeGreaterThan(20);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/v1/auth/oidc');
    // The cookie is encrypted: neither the verifier nor the state can be read from it.
    const value = browser.cookie('app.wrapper.test', 'wr_oidc') ?? '';
    expect(value.split('.')).toHaveLength(5);
    expect(value).not.toContain(url.searchParams.get('state') ?? '-');
  });

  test('a new person gets an account with a verified email and a workspace of their own', async () => {
    const account = person('new');
    const { fragment } = await signInThroughProvider(account, '?returnTo=/settings');
    expect(fragment.get('returnTo')).toBe('/settings');
    expect(fragment.get('code')).toStartWith('si_');
    const signedIn = await exchange(fragment.get('code'), fragment.get('tenant'));
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user).toMatchObject({
      email: account.email,
      name: 'Grace Hopper',
      emailVerified: true,
    });
    expect(signedIn.body.tenants).toHaveLength(1);
    expect(signedIn.body.tenants[0]).toMatchObject({ name: "Grace's workspace", role: 'owner' });
    const me = await app.request('GET', '/v1/me', { token: signedIn.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.permissions).toContain('tenant:manage');
    // No password was set: password sign-in is refused.
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: account.email, password: 'x' },
    });
    expect(login.status).toBe(401);
    // The refresh token works like any other.
    const refreshed = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: signedIn.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
  });

  test('signing in again finds the same account by subject, even after the provider changes the email', async () => {
    const account = person('again');
    const first = await signInThroughProvider(account);
    const firstUser = (await exchange(first.fragment.get('code'))).body.user;
    const second = await signInThroughProvider({ ...account, email: uniqueEmail('renamed') });
    const secondSignIn = await exchange(second.fragment.get('code'));
    expect(secondSignIn.body.user.id).toBe(firstUser.id);
    expect(secondSignIn.body.tenants).toHaveLength(1);
  });

  test('links to an existing account with the same verified email and lands in its tenant; the password still works', async () => {
    const existing = await app.signUp();
    await app.database.owner.execute(
      sql`update users set email_verified_at = now() where id = ${existing.userId}`,
    );
    const { fragment } = await signInThroughProvider(
      person('linked', { email: existing.email.toUpperCase() }),
    );
    expect(fragment.get('tenant')).toBe(existing.tenantId);
    const signedIn = await exchange(fragment.get('code'));
    expect(signedIn.body.user.id).toBe(existing.userId);
    expect(signedIn.body.tenants.map((tenant: { id: string }) => tenant.id)).toEqual([existing.tenantId]);
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: existing.email, password: existing.password },
    });
    expect(login.status).toBe(200);
    expect(await countUsers(existing.email)).toBe(1);
  });

  test('claiming an unconfirmed account ends its password and sessions (no account set up in advance by someone else)', async () => {
    const squatter = await app.signUp();
    const { fragment } = await signInThroughProvider(person('claimed', { email: squatter.email }));
    const signedIn = await exchange(fragment.get('code'));
    expect(signedIn.body.user).toMatchObject({ id: squatter.userId, emailVerified: true });
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: squatter.email, password: squatter.password },
    });
    expect(login.status).toBe(401);
    expect((await app.request('GET', '/v1/me', { token: squatter.token })).status).toBe(401);
    const refresh = await app.request('POST', '/v1/auth/refresh', {
      body: { refreshToken: squatter.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });

  test('an email the provider has not verified cannot create or claim an account', async () => {
    const existing = await app.signUp();
    for (const email of [existing.email, uniqueEmail('unverified')]) {
      const { fragment } = await signInThroughProvider(
        person('unverified', { email, email_verified: false }),
      );
      expect(fragment.get('error')).toBe('oidc-email-unverified');
      expect(fragment.get('code')).toBeNull();
      expect(await countUsers(email)).toBe(email === existing.email ? 1 : 0);
    }
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: existing.email, password: existing.password },
    });
    expect(login.status).toBe(200);
  });

  test('a forged state is refused and signs nobody in', async () => {
    const account = person('forged-state');
    idp.addAccount(account);
    const browser = new Browser();
    const callbackUrl = new URL(await authorizeAt(browser, await start(browser), account.sub));
    callbackUrl.searchParams.set('state', 'forged-state-value-0123456789abcdef');
    const fragment = await callback(browser, callbackUrl.href);
    expect(fragment.get('error')).toBe('oidc-state-mismatch');
    expect(fragment.get('code')).toBeNull();
    expect(await countUsers(account.email ?? '')).toBe(0);
  });

  test('an ID token with another nonce is refused', async () => {
    const account = person('wrong-nonce');
    idp.addAccount(account);
    const browser = new Browser();
    const authorizationUrl = new URL(await start(browser));
    // The provider is asked for a token bound to a nonce this browser's sign-in never chose.
    authorizationUrl.searchParams.set('nonce', 'a-nonce-from-another-sign-in-0123456789');
    const fragment = await callback(browser, await authorizeAt(browser, authorizationUrl.href, account.sub));
    expect(fragment.get('error')).toBe('oidc-nonce-mismatch');
    expect(await countUsers(account.email ?? '')).toBe(0);
  });

  test('a callback in a browser that did not start the sign-in is refused (login CSRF)', async () => {
    const account = person('csrf');
    idp.addAccount(account);
    const attacker = new Browser();
    const callbackUrl = await authorizeAt(attacker, await start(attacker), account.sub);
    const victim = new Browser();
    const fragment = await callback(victim, callbackUrl);
    expect(fragment.get('error')).toBe('oidc-flow-missing');
    // A tampered flow cookie counts as none.
    const tampered = new Browser();
    tampered.setCookie('app.wrapper.test', 'wr_oidc', `${attacker.cookie('app.wrapper.test', 'wr_oidc')}x`);
    expect((await callback(tampered, callbackUrl)).get('error')).toBe('oidc-flow-missing');
    expect(await countUsers(account.email ?? '')).toBe(0);
  });

  test('a code replayed with the same flow cookie is refused by the provider', async () => {
    const account = person('replay');
    idp.addAccount(account);
    const browser = new Browser();
    const callbackUrl = await authorizeAt(browser, await start(browser), account.sub);
    const flowCookie = browser.cookie('app.wrapper.test', 'wr_oidc') ?? '';
    expect((await callback(browser, callbackUrl)).get('code')).toStartWith('si_');
    // The callback cleared the cookie; an attacker replaying both gets nothing.
    expect(browser.cookie('app.wrapper.test', 'wr_oidc')).toBeUndefined();
    browser.setCookie('app.wrapper.test', 'wr_oidc', flowCookie);
    expect((await callback(browser, callbackUrl)).get('error')).toBe('oidc-failed');
  });

  test('a refusal at the provider comes back as oidc-denied', async () => {
    const browser = new Browser();
    const state = new URL(await start(browser)).searchParams.get('state') ?? '';
    const fragment = await callback(
      browser,
      `${CALLBACK}?error=access_denied&error_description=${encodeURIComponent('The person said no')}&state=${state}`,
    );
    expect(fragment.get('error')).toBe('oidc-denied');
    expect(fragment.get('detail')).toContain('The person said no');
  });

  test('clients asking for JSON get problem+json from start and callback', async () => {
    const unknown = await app.request('GET', '/v1/auth/oidc/nope/start', {
      headers: { accept: 'application/json' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(unknown.body.type).toBe('/problems/oidc-unknown-provider');
    const missing = await app.request('GET', '/v1/auth/oidc/idp/callback?code=x&state=y', {
      headers: { accept: 'application/json' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.type).toBe('/problems/oidc-flow-missing');
    // A browser is sent back to the app with the code instead.
    const browser = new Browser();
    const redirected = await browser.send(`${TEST_APP_URL}/v1/auth/oidc/nope/start`);
    expect(redirected.status).toBe(303);
    expect(location(redirected, TEST_APP_URL)).toContain('/auth/oidc#error=oidc-unknown-provider');
  });

  test('bad input: a returnTo off the app, a malformed tenant id, a bad exchange body', async () => {
    for (const returnTo of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'relative']) {
      const response = await app.request(
        'GET',
        `/v1/auth/oidc/idp/start?returnTo=${encodeURIComponent(returnTo)}`,
        {
          headers: { accept: 'application/json' },
        },
      );
      expect(response.status).toBe(422);
      expect(response.body.type).toBe('/problems/validation-failed');
    }
    const badTenant = await app.request('GET', '/v1/auth/oidc/idp/start?tenantId=not-a-uuid', {
      headers: { accept: 'application/json' },
    });
    expect(badTenant.status).toBe(422);
    expect((await app.request('POST', '/v1/auth/oidc/exchange', { body: {} })).status).toBe(422);
    expect(
      (await app.request('POST', '/v1/auth/oidc/exchange', { body: { code: 'si_x', extra: 1 } })).status,
    ).toBe(422);
    const unknownCode = await exchange('si_not-a-real-code');
    expect(unknownCode.status).toBe(401);
    expect(unknownCode.body.type).toBe('/problems/unauthorized');
  });

  test('the sign-in code works once', async () => {
    const { fragment } = await signInThroughProvider(person('once'));
    const code = fragment.get('code');
    const [first, second] = await Promise.all([exchange(code), exchange(code)]);
    expect([first.status, second.status].sort()).toEqual([200, 401]);
    expect((await exchange(code)).status).toBe(401);
  });

  test('cross-tenant: the code cannot open a tenant the person does not belong to', async () => {
    const stranger = await app.signUp();
    const { fragment } = await signInThroughProvider(person('cross'), `?tenantId=${stranger.tenantId}`);
    // The requested tenant is ignored at the callback (not a member) and refused at the exchange.
    expect(fragment.get('tenant')).not.toBe(stranger.tenantId);
    const refused = await exchange(fragment.get('code'), stranger.tenantId);
    expect(refused.status).toBe(403);
    const members = await app.request('GET', '/v1/members', { token: stranger.token });
    expect(members.body.items).toHaveLength(1);
  });

  test('an invitation is accepted on the way in: the new person joins the inviting tenant, with no workspace of their own', async () => {
    const owner = await app.signUp();
    const email = uniqueEmail('invitee');
    const invited = await app.request('POST', '/v1/invitations', {
      token: owner.token,
      body: { email, roleIds: [builtInRoles.viewer.id] },
    });
    expect(invited.status).toBe(201);
    const mailbox = await app.request('GET', '/v1/dev/mailbox');
    const text: string = mailbox.body.items.find((item: { to: string }) => item.to === email).text;
    const token = /token=(inv_[A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';

    // Sent to another address: refused, nothing joined.
    const other = await signInThroughProvider(person('not-invitee'), `?invitation=${token}`);
    expect(other.fragment.get('error')).toBe('invitation-email-mismatch');

    const { fragment } = await signInThroughProvider(person('invitee', { email }), `?invitation=${token}`);
    expect(fragment.get('tenant')).toBe(owner.tenantId);
    const signedIn = await exchange(fragment.get('code'), fragment.get('tenant'));
    expect(signedIn.body.tenants).toEqual([expect.objectContaining({ id: owner.tenantId, role: 'viewer' })]);
  });

  test('a person whose only membership is suspended is refused', async () => {
    const owner = await app.signUp();
    const account = person('suspended');
    const joined = await signInThroughProvider(account);
    const joinedUser = (await exchange(joined.fragment.get('code'))).body;
    // Move them into the owner's tenant only, then suspend them there.
    await app.database.owner.execute(sql`delete from memberships where user_id = ${joinedUser.user.id}`);
    await app.database.owner.execute(
      sql`insert into memberships (tenant_id, user_id, status) values (${owner.tenantId}, ${joinedUser.user.id}, 'suspended')`,
    );
    const again = await signInThroughProvider(account);
    expect(again.fragment.get('error')).toBe('forbidden');
  });

  test('two first sign-ins at once end with one account', async () => {
    const account = person('race');
    idp.addAccount(account);
    const browsers = [new Browser(), new Browser()];
    const callbacks = await Promise.all(
      browsers.map(async (browser) => authorizeAt(browser, await start(browser), account.sub)),
    );
    const fragments = await Promise.all(
      browsers.map((browser, index) => callback(browser, callbacks[index] ?? '')),
    );
    const signedIn = await Promise.all(
      fragments.map(async (fragment) => (await exchange(fragment.get('code'))).body),
    );
    expect(signedIn[0].user.id).toBe(signedIn[1].user.id);
    expect(await countUsers(account.email ?? '')).toBe(1);
    // And one workspace, not one per sign-in.
    expect(fragments[0]?.get('tenant')).toBe(fragments[1]?.get('tenant') ?? '');
    expect(signedIn[1].tenants).toHaveLength(1);
  });
});

describe('OpenID Connect provider outages', () => {
  test('an unreachable provider answers 503 oidc-provider-unavailable', async () => {
    const signIn = createOidcSignIn({
      providers: [
        {
          id: 'down',
          name: 'Down',
          issuer: `http://127.0.0.1:${freePort()}`,
          clientId: 'x',
          clientSecret: 'y',
          scopes: 'openid',
        },
      ],
      appUrl: TEST_APP_URL,
      secret: 'a-secret-that-is-long-enough-for-the-key-0123',
      logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      timeoutMs: 2000,
    });
    const error = await signIn.start('down', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('oidc-provider-unavailable');
    expect((error as AppError).status).toBe(503);
  });
});
